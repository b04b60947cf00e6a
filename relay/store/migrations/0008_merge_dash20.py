from tortoise import migrations


class Migration(migrations.Migration):
    """Joins the automations (after tasks and pairs/integrations) and artifacts migrations on this branch only (the lead
    renumbers migrations into one chain when merging: drop this file then)."""

    dependencies = [
        ("relay", "0007_automations"),
        ("relay", "0007_artifacts"),
    ]

    initial = False

    operations: list[object] = []
