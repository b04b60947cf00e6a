from tortoise import migrations


class Migration(migrations.Migration):
    """Joins the tasks, pairs/integrations and artifacts migrations on this branch only (the lead
    renumbers migrations into one chain when merging: drop this file then)."""

    dependencies = [
        ("relay", "0007_tasks"),
        ("relay", "0007_pairs_integrations"),
        ("relay", "0007_artifacts"),
    ]

    initial = False

    operations: list[object] = []
