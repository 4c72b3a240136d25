"""The JavaScript SDK as a user gets it (SPEC §14): `npm pack` makes a
tarball of the module and its declarations only, `npm install` of it into an
empty folder works with no registry and no dependencies, and the installed
copy talks to a real `symbi up`. (Its methods and errors are tested by
`node --test sdk/js/test/`, which tests/run.sh runs.)"""
import json
import os
import subprocess
import tarfile

from sdk_util import KEY, SDK_JS, start_sdk_daemon

SCRIPT = """
import { SymbiontClient, NotFoundError } from '@symbiont/sdk-js';
const client = new SymbiontClient({ baseUrl: process.argv[2], apiKey: process.argv[3] });
const job = await client.schedule.create({ name: 'from-npm', agentId: 'echoer',
                                           cronExpr: '0 * * * *' });
const listed = await client.schedule.list({ agentId: 'echoer' });
let missing = null;
try { await client.schedule.get('nope'); } catch (e) { missing = e instanceof NotFoundError; }
console.log(JSON.stringify({ id: job.id, nextRun: job.nextRun, n: listed.length, missing }));
"""


def npm(*args, cwd, timeout=120):
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false")
    return subprocess.run(["npm", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)


def test_npm_pack_and_install_into_an_empty_folder(symbi, daemons, tmp_path):
    _, url = start_sdk_daemon(symbi, daemons, tmp_path)
    packed = tmp_path / "packed"
    packed.mkdir()
    p = npm("pack", "--pack-destination", str(packed), cwd=SDK_JS)
    assert p.returncode == 0, p.stderr
    tgz = packed / "symbiont-sdk-js-0.1.0.tgz"
    assert tgz.exists(), list(packed.iterdir())
    with tarfile.open(tgz) as t:
        names = sorted(t.getnames())
        meta = json.load(t.extractfile("package/package.json"))
    assert names == ["package/README.md", "package/index.d.ts", "package/index.js",
                     "package/package.json"]
    assert meta["type"] == "module" and meta["types"] == "./index.d.ts"
    assert "dependencies" not in meta and meta["engines"]["node"] == ">=18"

    app = tmp_path / "app"
    app.mkdir()
    p = npm("install", "--offline", "--no-package-lock", str(tgz), cwd=app)
    assert p.returncode == 0, p.stdout + p.stderr
    installed = app / "node_modules" / "@symbiont" / "sdk-js"
    assert (installed / "index.js").exists() and (installed / "index.d.ts").exists()
    # nothing else came along: no dependencies
    assert sorted(os.listdir(app / "node_modules")) in (["@symbiont"],
                                                        [".package-lock.json", "@symbiont"])
    (app / "main.mjs").write_text(SCRIPT)
    p = subprocess.run(["node", "main.mjs", url, KEY], capture_output=True, text=True,
                       cwd=app, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["n"] == 1 and out["missing"] is True and out["nextRun"].endswith(":00:00Z")
