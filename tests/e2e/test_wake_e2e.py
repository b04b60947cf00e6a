"""``agent.wake`` end to end: queued on the relay, carried over the daemon's channel, typed
into the session the daemon spawned, settled; a session that is gone settles ``failed``."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import needs_tmux
from tests.e2e.processes import DaemonProcess, RelayProcess, wait_for


@needs_tmux
def test_a_wake_is_typed_into_the_agent_s_session(
    relay: RelayProcess, daemon: DaemonProcess, base_dir: Path
) -> None:
    typed = base_dir / "wake-typed.txt"
    script = f'IFS= read -r line; printf "%s\\n" "$line" > {typed}; exec sleep 300'
    response = relay.api.post(
        f"/api/orchestrators/{daemon.id}/spawn",
        json={"provider": "command", "cwd": str(base_dir), "command": ["sh", "-c", script]},
    )
    assert response.status_code == 202, response.text
    spawned = relay.settled(response.json()["command"]["id"])
    assert spawned["status"] == "succeeded", spawned
    agent_id = spawned["result"]["agentId"]
    agent = relay.api.get(f"/api/agents/{agent_id}").json()
    session = agent["meta"]["sessionName"]

    params = {
        "agentId": agent_id,
        "sessionName": session,
        "reason": "message",
        "messageId": "msg_" + "b" * 32,
        "from": "agent-e2e",
        "importance": "normal",
    }
    woken = relay.run(daemon.id, "agent.wake", params)
    assert woken["status"] == "succeeded", woken
    line = "[relay] new message from agent-e2e; use the relay fetch_inbox tool"
    assert woken["result"]["typed"] == line
    wait_for(lambda: typed.exists() and typed.read_text().endswith("\n"), what="the typed line")
    assert typed.read_text() == line + "\n"

    relay.run(daemon.id, "agent.shutdown", {"agentId": agent_id})
    gone = relay.run(daemon.id, "agent.wake", params)
    assert gone["status"] == "failed", gone
    # tmux's own words: no such session, or (the last one gone) no server at all.
    assert gone["error"].startswith("tmux send-keys failed: "), gone
