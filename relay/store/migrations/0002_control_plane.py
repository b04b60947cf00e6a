from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('relay', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Command',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('type', fields.CharField(db_index=True, max_length=64)),
                ('source', fields.CharField(null=True, max_length=200)),
                ('target', fields.CharField(max_length=200)),
                ('target_kind', fields.CharField(max_length=16)),
                ('correlation_id', fields.CharField(null=True, db_index=True, max_length=200)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(db_index=True, max_length=16)),
                ('result', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('attempts', fields.IntField(default=0)),
                ('created_at', fields.BigIntField(db_index=True)),
                ('updated_at', fields.BigIntField()),
                ('delivered_at', fields.BigIntField(null=True)),
                ('ack_deadline', fields.BigIntField(null=True)),
                ('settled_at', fields.BigIntField(null=True)),
                ('expires_at', fields.BigIntField(null=True)),
                ('effects_applied', fields.BooleanField(default=False)),
            ],
            options={'table': 'commands', 'app': 'relay', 'indexes': [Index(fields=['target', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConfigEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('namespace', fields.CharField(max_length=100)),
                ('key', fields.CharField(max_length=200)),
                ('version', fields.IntField()),
                ('value', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.BigIntField()),
                ('updated_by', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'config_entries', 'app': 'relay', 'unique_together': (('namespace', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConfigHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('namespace', fields.CharField(max_length=100)),
                ('key', fields.CharField(max_length=200)),
                ('version', fields.IntField()),
                ('value', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('deleted', fields.BooleanField(default=False)),
                ('updated_at', fields.BigIntField()),
                ('updated_by', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'config_history', 'app': 'relay', 'unique_together': (('namespace', 'key', 'version'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MaintenanceRun',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('last_run_at', fields.BigIntField(null=True)),
                ('duration_ms', fields.IntField(null=True)),
                ('result', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('next_run_at', fields.BigIntField(null=True)),
            ],
            options={'table': 'maintenance_runs', 'app': 'relay', 'pk_attr': 'name', 'table_description': 'The last run of each maintenance job, so the schedule survives a restart.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MergeLease',
            fields=[
                ('repo_root', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=1024)),
                ('workspace_id', fields.CharField(max_length=64)),
                ('holder', fields.CharField(max_length=200)),
                ('command_id', fields.CharField(null=True, db_index=True, max_length=64)),
                ('acquired_at', fields.BigIntField()),
                ('expires_at', fields.BigIntField()),
            ],
            options={'table': 'merge_leases', 'app': 'relay', 'pk_attr': 'repo_root', 'table_description': 'At most one row per repository: the unique key is the backstop for the lease actor.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Orchestrator',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('agent_id', fields.CharField(null=True, db_index=True, max_length=200)),
                ('name', fields.CharField(max_length=200)),
                ('host', fields.CharField(null=True, max_length=255)),
                ('base_dir', fields.TextField(unique=False)),
                ('status', fields.CharField(db_index=True, max_length=16)),
                ('capabilities', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('runtime', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('managed_agents', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('registered_at', fields.BigIntField()),
                ('last_heartbeat_at', fields.BigIntField()),
            ],
            options={'table': 'orchestrators', 'app': 'relay', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StreamEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.CharField(max_length=32)),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('view', fields.CharField(null=True, max_length=64)),
                ('agent_id', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.BigIntField(db_index=True)),
            ],
            options={'table': 'stream_events', 'app': 'relay', 'pk_attr': 'id', 'table_description': "The live event stream's log: its id is the SSE event id, so Last-Event-ID can replay."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Workspace',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('agent_id', fields.CharField(null=True, db_index=True, max_length=200)),
                ('orchestrator_id', fields.CharField(null=True, max_length=200)),
                ('repo_root', fields.TextField(unique=False)),
                ('source_cwd', fields.TextField(unique=False)),
                ('worktree_path', fields.TextField(unique=False)),
                ('branch', fields.CharField(null=True, max_length=255)),
                ('base_ref', fields.CharField(null=True, max_length=255)),
                ('base_sha', fields.CharField(null=True, max_length=64)),
                ('mode', fields.CharField(max_length=16)),
                ('status', fields.CharField(db_index=True, max_length=32)),
                ('metadata', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.BigIntField()),
                ('updated_at', fields.BigIntField()),
            ],
            options={'table': 'workspaces', 'app': 'relay', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
