# State only (AlterModelOptions runs no SQL): the models' table descriptions, taken from
# their docstrings, as they read now. Without it every later makemigrations carried these
# along with the change it was run for (tests/store/test_migrations_match_models.py).
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('relay', '0016_tasks_preferring_index')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='Artifact',
            options={'table': 'artifacts', 'app': 'relay', 'indexes': [Index(fields=['created_by', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One upload. ``sha256`` names its blob, shared by every upload of the same bytes: so'},
        ),
        ops.AlterModelOptions(
            name='ArtifactLink',
            options={'table': 'artifact_links', 'app': 'relay', 'unique_together': (('artifact_id', 'holder_kind', 'holder_id'),), 'indexes': [Index(fields=['holder_kind', 'holder_id'])], 'pk_attr': 'id', 'table_description': 'Who holds an artifact: a message attaching it (``holder_kind`` ``message``), written'},
        ),
        ops.AlterModelOptions(
            name='Automation',
            options={'table': 'automations', 'app': 'relay', 'pk_attr': 'id', 'table_description': 'An automation; the one AutomationActor is its only writer (the unique name backs'},
        ),
        ops.AlterModelOptions(
            name='AutomationDispatch',
            options={'table': 'automation_dispatches', 'app': 'relay', 'indexes': [Index(fields=['automation_id', 'seq']), Index(fields=['at', 'status'])], 'pk_attr': 'id', 'table_description': 'One ``AutomationDispatchResult``; the newest ``RELAY_AUTOMATION_DISPATCH_KEEP`` of'},
        ),
        ops.AlterModelOptions(
            name='ChannelBinding',
            options={'table': 'channel_bindings', 'app': 'relay', 'unique_together': (('channel_id', 'mode', 'target_type', 'target'),), 'pk_attr': 'id', 'table_description': "The unique key backs the channel actor's rule: one binding per mode, type and target."},
        ),
        ops.AlterModelOptions(
            name='Delivery',
            options={'table': 'deliveries', 'app': 'relay', 'unique_together': (('message_id', 'agent_id'), ('agent_id', 'position')), 'indexes': [Index(fields=['agent_id', 'state']), Index(fields=['state', 'lease_expires_at']), Index(fields=['state', 'expires_at'])], 'pk_attr': 'id', 'table_description': "One per (message, recipient); ``position`` is its place in the recipient's inbox."},
        ),
        ops.AlterModelOptions(
            name='IntegrationEvent',
            options={'table': 'integration_events', 'app': 'relay', 'unique_together': (('integration', 'delivery_id'),), 'indexes': [Index(fields=['integration', 'received_at'])], 'pk_attr': 'id', 'table_description': 'The unique (integration, delivery_id) backs the dedupe of repeated deliveries.'},
        ),
        ops.AlterModelOptions(
            name='Memory',
            options={'table': 'memories', 'app': 'relay', 'indexes': [Index(fields=['updated_at', 'id']), Index(fields=['scope', 'scope_key'])], 'pk_attr': 'id', 'table_description': 'A memory. ``search_text`` / ``search_tags`` are lower-cased copies written with it'},
        ),
        ops.AlterModelOptions(
            name='Message',
            options={'table': 'messages', 'app': 'relay', 'unique_together': (('sender', 'client_message_id'), ('conversation_id', 'seq')), 'indexes': [Index(fields=['created_at'])], 'pk_attr': 'id', 'table_description': 'A message; (sender, client_message_id) and (conversation_id, seq) back the'},
        ),
        ops.AlterModelOptions(
            name='Pair',
            options={'table': 'pairs', 'app': 'relay', 'pk_attr': 'id', 'table_description': 'A pair; its PairActor is the only writer. Which agent is in which open pair is'},
        ),
        ops.AlterModelOptions(
            name='Task',
            options={'table': 'tasks', 'app': 'relay', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A task (spec/tasks.md); ``TaskBoardActor`` is its only writer.'},
        ),
    ]
