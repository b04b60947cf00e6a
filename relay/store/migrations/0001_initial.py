from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ActivityEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.CharField(null=True, unique=True, max_length=200)),
                ('kind', fields.CharField(max_length=64)),
                ('title', fields.TextField(unique=False)),
                ('body', fields.TextField(null=True, unique=False)),
                ('meta', fields.TextField(null=True, unique=False)),
                ('icon', fields.CharField(null=True, max_length=64)),
                ('view', fields.CharField(null=True, db_index=True, max_length=64)),
                ('agent_id', fields.CharField(null=True, db_index=True, max_length=200)),
                ('metadata', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.BigIntField(db_index=True)),
            ],
            options={'table': 'activity_events', 'app': 'relay', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Agent',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('name', fields.CharField(max_length=200)),
                ('kind', fields.CharField(max_length=64)),
                ('status', fields.CharField(db_index=True, max_length=16)),
                ('ready', fields.BooleanField(default=False)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('orchestrator_id', fields.CharField(null=True, db_index=True, max_length=200)),
                ('provider_capabilities', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('meta', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('registered_at', fields.BigIntField()),
                ('last_seen_at', fields.BigIntField()),
            ],
            options={'table': 'agents', 'app': 'relay', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TimelineEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('agent_id', fields.CharField(max_length=200)),
                ('kind', fields.CharField(max_length=64)),
                ('title', fields.TextField(unique=False)),
                ('body', fields.TextField(null=True, unique=False)),
                ('metadata', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.BigIntField()),
            ],
            options={'table': 'agent_timeline', 'app': 'relay', 'indexes': [Index(fields=['agent_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TokenRecord',
            fields=[
                ('jti', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('sub', fields.CharField(max_length=200)),
                ('role', fields.CharField(max_length=64)),
                ('scope', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('constraints', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('profile_id', fields.CharField(null=True, max_length=64)),
                ('created_by', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.BigIntField()),
                ('expires_at', fields.BigIntField()),
                ('revoked_at', fields.BigIntField(null=True)),
            ],
            options={'table': 'token_records', 'app': 'relay', 'pk_attr': 'jti'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TokenRevocation',
            fields=[
                ('jti', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('revoked_at', fields.BigIntField()),
                ('expires_at', fields.BigIntField(null=True, description='prunable after this')),
            ],
            options={'table': 'token_revocations', 'app': 'relay', 'pk_attr': 'jti', 'table_description': 'A deny-list row: validly signed tokens need no record, so revocation stands alone.'},
            bases=['Model'],
        ),
    ]
