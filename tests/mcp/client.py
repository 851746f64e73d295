"""Drive `codex-session mcp` with the official MCP Python SDK, as an agent would.

usage: client.py BIN STORE legacy|auto STEP...

Run by tests/it/mcp.rs (which gives it a deadline and a private store, and
kills whatever it started), a few steps per test. Prints one `ok: ...` line
per check; any failure raises, which exits non-zero with the traceback.

`legacy` connects with the initialize handshake (what Codex and Claude Code
speak today); `auto` lets the SDK negotiate the newest protocol it shares
with the server (2026-07-28: no handshake, the client named in each request).
"""

import json
import os
import shutil
import sys

import anyio
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated
from mcp.client.stdio import StdioServerParameters
from mcp_types import Implementation

BIN, STORE = sys.argv[1], sys.argv[2]
MODE = sys.argv[3]
STEPS = sys.argv[4:]
PY = "/usr/bin/python3"
CLIENT = "it-client-" + MODE
TOOLS = {
    "session_start",
    "session_send",
    "session_wait",
    "session_screen",
    "session_logs",
    "session_list",
    "session_stop",
    "session_remove",
}


def ok(step):
    print(f"ok: {step}", flush=True)


def text_of(r):
    return "".join(c.text for c in r.content if getattr(c, "type", "") == "text")


async def call(client, tool, args):
    r = await client.call_tool(tool, args, read_timeout_seconds=60)
    assert not r.is_error, f"{tool} {args} failed: {text_of(r)}"
    assert isinstance(r.structured_content, dict), f"{tool}: no structured content: {r}"
    return r.structured_content, text_of(r)


async def fails(client, tool, args, *needles):
    r = await client.call_tool(tool, args, read_timeout_seconds=60)
    msg = text_of(r)
    assert r.is_error, f"{tool} {args} should fail, got: {msg}"
    for n in needles:
        assert n in msg, f"{tool} {args}: {n!r} not in the error {msg!r}"
    return msg


# resources/updated notifications (legacy subscriptions), as they come.
UPDATED = []


async def on_message(message):
    if getattr(message, "method", None) == "notifications/resources/updated":
        UPDATED.append(str(message.params.uri))


async def updated(uri, before):
    with anyio.fail_after(20):
        while uri not in UPDATED[before:]:
            await anyio.sleep(0.01)


def events(name):
    with open(os.path.join(STORE, name, "events.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


async def tools(client):
    listed = (await client.list_tools()).tools
    names = {t.name for t in listed}
    assert names == TOOLS, names
    for t in listed:
        assert len(t.description) > 60, (t.name, t.description)
        for field, spec in t.input_schema.get("properties", {}).items():
            assert spec.get("description"), (t.name, field)
        assert t.output_schema, t.name
    ok("list tools: 8, every argument described")


async def repl(client):
    r, text = await call(
        client,
        "session_start",
        {"command": [PY, "-q"], "name": "py", "wait_idle": "500ms", "label": "a python"},
    )
    assert r["name"] == "py" and r["status"] == "running", r
    assert isinstance(r["pid"], int), r
    assert ">>>" in r["output"], r
    assert "started" in text, text
    ok("start python3 -q: its prompt as first output")

    r, text = await call(
        client, "session_send", {"name": "py", "text": "print(6*7)", "submit": True}
    )
    assert r["outcome"] == "idle", r
    assert r["answer"].splitlines()[0] == "42", r
    assert "print(6*7)" not in r["answer"], r
    assert text.startswith("42\n"), text
    ok("send print(6*7): the answer is 42")

    sent = [e for e in events("py") if e["event"] == "input"]
    assert sent and sent[-1]["as"] == "mcp:" + CLIENT, sent
    assert "uid" in sent[-1] and "pid" in sent[-1], sent
    ok("audit: input recorded as mcp:" + CLIENT)

    r, _ = await call(
        client,
        "session_send",
        {
            "name": "py",
            "text": "import time; time.sleep(0.2); print('done', 7*6)",
            "submit": True,
            "wait_output": r"^done \d+$",
        },
    )
    assert r["outcome"] == "matched" and r["matched"] == "done 42", r
    ok("send with wait_output: matched")

    r, _ = await call(client, "session_send", {"name": "py", "text": "exit()", "submit": True})
    assert r["outcome"] == "exited" and r["exit_code"] == 0, r
    ok("send exit(): exited with code 0")


async def big_log(client):
    lines = 100_000
    prog = f"for i in range({lines}): print(f'line {{i:07d}} ' + 'x' * 40)"
    r, text = await call(
        client,
        "session_start",
        {"command": [PY, "-c", prog], "name": "big", "wait_idle": "2s", "timeout": 60},
    )
    assert len(r["output"]) < 17 * 1024, len(r["output"])
    assert r["omitted"], r
    assert "left out here" in r["output"], r["output"][:200]
    ok("start a 5 MB printer: first output bounded, with a marker")

    r, _ = await call(client, "session_wait", {"name": "big", "exit": True, "timeout": 60})
    assert r["outcome"] == "exited" and r["exit_code"] == 0, r
    ok("wait exit")

    r, text = await call(client, "session_logs", {"name": "big", "tail": 2})
    assert r["text"].splitlines() == [
        f"line {lines - 2:07d} " + "x" * 40,
        f"line {lines - 1:07d} " + "x" * 40,
    ], r["text"]
    total = r["total"]
    # 53 characters and CR LF (the terminal turns each newline into both).
    assert total == lines * 55, total
    assert r["next_offset"] == total, r
    ok("logs tail 2")

    offset, got, pages = 0, [], 0
    while True:
        r, _ = await call(client, "session_logs", {"name": "big", "offset": offset})
        assert r["offset"] == offset and r["total"] == total, r
        assert not r["omitted"], r
        got.append(r["text"])
        pages += 1
        if r["next_offset"] >= total:
            break
        assert r["next_offset"] > offset, r
        offset = r["next_offset"]
    text = "".join(got).splitlines()
    assert len(text) == lines, len(text)
    assert all(t == f"line {i:07d} " + "x" * 40 for i, t in enumerate(text)), "pages out of order"
    ok(f"page the 5 MB log: {pages} pages, every line once, in order")

    r, _ = await call(client, "session_logs", {"name": "big", "offset": 55 * 90, "limit": 100})
    assert r["offset"] == 55 * 90 and r["next_offset"] == 55 * 91, r
    assert r["text"] == f"line {90:07d} " + "x" * 40 + "\n", r
    ok("a page ends after a whole line")


async def wait_regex(client):
    await call(
        client,
        "session_start",
        {
            "command": "sleep 0.5; echo READY-42; sleep 60",
            "name": "w",
            "wait_idle": 0,
        },
    )
    r, text = await call(
        client, "session_wait", {"name": "w", "output": r"READY-\d+", "timeout": 20}
    )
    assert r["outcome"] == "matched" and r["matched"] == "READY-42", r
    # Printed already: found since the start (no input yet).
    r, _ = await call(client, "session_wait", {"name": "w", "output": "READY", "timeout": 5})
    assert r["outcome"] == "matched", r
    r, text = await call(
        client, "session_wait", {"name": "w", "output": "never", "from": "now", "timeout": 0.3}
    )
    assert r["outcome"] == "timeout", r
    ok("wait for a regex; a timeout is an answer")
    r, _ = await call(client, "session_stop", {"name": "w", "grace": "2s"})
    assert r["status"] == "killed" and r["signal"] == "SIGTERM", r
    ok("stop")


async def vim_screen(client):
    vim = shutil.which("vim") or shutil.which("vim.tiny")
    if not vim:
        print("skip: vim is not installed", flush=True)
        return
    await call(
        client,
        "session_start",
        {"command": [vim, "-u", "NONE", "-N", "-n"], "name": "vim", "size": "60x12"},
    )
    await call(client, "session_send", {"name": "vim", "text": "ihello from the agent"})
    await call(client, "session_send", {"name": "vim", "keys": ["Escape"], "wait_idle": "300ms"})
    r, text = await call(client, "session_screen", {"name": "vim", "cursor": True, "title": True})
    rows = r["screen"].splitlines()
    assert rows[0] == "hello from the agent", rows
    assert rows[1].startswith("~"), rows
    assert r["live"] is True, r
    assert r["cursor"] == {"row": 0, "col": 19}, r["cursor"]
    assert "cursor at row 0, column 19" in text, text
    ok("vim: the screen and the cursor")
    await call(client, "session_send", {"name": "vim", "text": ":q!", "submit": True})
    r, _ = await call(client, "session_wait", {"name": "vim", "exit": True, "timeout": 10})
    assert r["outcome"] == "exited", r
    r, _ = await call(client, "session_screen", {"name": "vim"})
    assert r["live"] is False, r
    ok("vim: quit; the last screen stays readable")


async def bad_arguments(client):
    await fails(client, "session_send", {"name": "py", "txt": "x"}, "unknown field `txt`")
    await fails(client, "session_send", {"text": "x"}, "missing field `name`")
    await fails(client, "session_send", {"name": "nope", "text": "x"}, "no session named nope")
    await fails(client, "session_send", {"name": "py"}, "nothing to send")
    await fails(client, "session_wait", {"name": "py", "exit": True, "idle": 1}, "exactly one")
    await fails(client, "session_wait", {"name": "py", "output": "(unclosed"}, "invalid regex")
    await fails(client, "session_send", {"name": "py", "text": "x", "timeout": "soon"}, "500ms")
    await fails(client, "session_send", {"name": "py", "text": "x", "timeout": "1d"}, "max_timeout")
    await fails(client, "session_start", {"command": [], "name": "e"}, "empty")
    await fails(client, "session_start", {"command": "true", "name": "bad name"}, "session name")
    await fails(client, "session_start", {"command": ["no-such-program-xyz"]}, "not found")
    await fails(client, "session_logs", {"name": "py", "tail": 3, "offset": 0}, "not both")
    await fails(client, "session_stop", {"name": "py", "signal": "NOPE"}, "invalid signal")
    await fails(client, "session_send", {"name": "py", "keys": ["Entr"]}, "unknown key")
    # Still serving.
    assert len((await client.list_tools()).tools) == 8
    ok("bad arguments: tool errors that say what to fix; still serving")


async def stop_and_remove(client):
    await call(
        client,
        "session_start",
        {"command": [PY, "-q"], "name": "py2", "wait_idle": 0, "label": "a python"},
    )
    await call(client, "session_start", {"command": "exit 3", "name": "three"})
    r, text = await call(client, "session_list", {})
    by_name = {s["name"]: s for s in r["sessions"]}
    assert by_name["py2"]["label"] == "a python" and by_name["py2"]["running"], by_name
    assert by_name["three"]["status"] == "exited" and by_name["three"]["exit_code"] == 3, by_name
    assert "py2  running" in text and "three  exited 3" in text, text
    await fails(client, "session_remove", {"name": "py2"}, "force")
    r, _ = await call(client, "session_stop", {"name": "py2"})
    assert r["status"] == "killed" and r["signal"] == "SIGTERM", r
    await fails(client, "session_stop", {"name": "py2"}, "not running")
    for name in ["py2", "three"]:
        r, _ = await call(client, "session_remove", {"name": name})
        assert r["removed"], r
    r, _ = await call(client, "session_list", {})
    assert r["sessions"] == [], r
    await call(client, "session_start", {"command": [PY, "-q"], "name": "f", "wait_idle": 0})
    await call(client, "session_remove", {"name": "f", "force": True})
    assert not os.path.exists(os.path.join(STORE, "f"))
    ok("list, stop and remove")


async def resources(client):
    await call(client, "session_start", {"command": [PY, "-q"], "name": "res", "wait_idle": "300ms"})
    uris = {str(r.uri) for r in (await client.list_resources()).resources}
    assert {"session://res/screen", "session://res/log"} <= uris, uris
    templates = (await client.list_resource_templates()).resource_templates
    assert {t.uri_template for t in templates} == {
        "session://{name}/screen",
        "session://{name}/log",
    }, templates
    r = await client.read_resource("session://res/screen")
    assert r.contents[0].text.startswith(">>>"), r
    ok("resources: listed, templates, read the screen")

    await client.subscribe_resource("session://res/log")
    n = len(UPDATED)
    await call(client, "session_send", {"name": "res", "text": "print('tick')", "submit": True, "wait_idle": 0})
    await updated("session://res/log", n)
    r = await client.read_resource("session://res/log")
    assert "tick" in r.contents[0].text.splitlines(), r
    ok("subscribe: updated once quiet after output")
    n = len(UPDATED)
    await call(client, "session_send", {"name": "res", "text": "exit()", "submit": True, "wait_idle": 0})
    await updated("session://res/log", n)
    assert not (await client.read_resource("session://res/log")).contents[0].text.startswith("[")
    ok("subscribe: updated on exit")
    try:
        await client.read_resource("session://nope/screen")
        raise AssertionError("reading a missing session's screen succeeded")
    except Exception as e:
        assert "no session named nope" in str(e), e
    ok("resources: a missing session is an error")


async def modern(client):
    # The same tools over the newest protocol: no initialize handshake.
    r, _ = await call(client, "session_start", {"command": [PY, "-q"], "name": "m", "wait_idle": "300ms"})
    r, _ = await call(client, "session_send", {"name": "m", "text": "print(2**10)", "submit": True})
    assert r["answer"].splitlines()[0] == "1024", r
    who = [e["as"] for e in events("m") if e["event"] == "input"]
    assert who == ["mcp:" + CLIENT], who
    async with client.listen(resource_subscriptions=["session://m/screen"]) as sub:
        await call(client, "session_send", {"name": "m", "text": "print('tock')", "submit": True, "wait_idle": 0})
        with anyio.fail_after(20):
            async for event in sub:
                assert isinstance(event, ResourceUpdated), event
                assert event.uri == "session://m/screen", event
                break
    r = await client.read_resource("session://m/screen")
    assert "tock" in r.contents[0].text.splitlines(), r
    await call(client, "session_remove", {"name": "m", "force": True})
    ok(f"protocol {client.protocol_version}: start, send, listen, remove")


async def main():
    server = StdioServerParameters(command=BIN, args=["--store", STORE, "mcp"], env=dict(os.environ))
    async with Client(
        server,
        client_info=Implementation(name=CLIENT, version="1.0"),
        mode=MODE,
        message_handler=on_message,
    ) as client:
        info = client.server_info
        assert info and info.name == "codex-session", info
        ok(f"connected ({MODE}, protocol {client.protocol_version})")
        for step in STEPS:
            await STEP[step](client)
    ok("done")


STEP = {
    f.__name__: f
    for f in [
        tools,
        repl,
        big_log,
        wait_regex,
        vim_screen,
        bad_arguments,
        stop_and_remove,
        resources,
        modern,
    ]
}


anyio.run(main)
