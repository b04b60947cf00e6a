from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Artifacts: one row per upload (blobs shared by sha256), and who holds each."""

    dependencies = [("relay", "0006_messages")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Artifact",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("sha256", fields.CharField(db_index=True, max_length=64)),
                ("size", fields.BigIntField()),
                ("media_type", fields.CharField(max_length=255)),
                ("name", fields.CharField(max_length=255)),
                ("kind", fields.CharField(max_length=16)),
                ("sensitivity", fields.CharField(max_length=16)),
                ("created_by", fields.CharField(max_length=200)),
                ("created_at", fields.BigIntField()),
                ("created_by_agent", fields.BooleanField(default=False)),
            ],
            options={
                "table": "artifacts",
                "app": "relay",
                "indexes": [Index(fields=["created_by", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ArtifactLink",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("artifact_id", fields.CharField(max_length=64)),
                ("holder_kind", fields.CharField(max_length=16)),
                ("holder_id", fields.CharField(max_length=64)),
            ],
            options={
                "table": "artifact_links",
                "app": "relay",
                "unique_together": (("artifact_id", "holder_kind", "holder_id"),),
                "indexes": [Index(fields=["holder_kind", "holder_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
