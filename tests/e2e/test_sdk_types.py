"""The SDKs' types are real (SPEC §14): the Python package and the guide's
program pass `mypy --strict`, and a wrongly typed call fails it; the guide's
JavaScript program and sdk/js/testlib/types.ts (typed use, plus misuse
marked @ts-expect-error) pass `tsc --strict` against index.d.ts, and a
wrongly typed call fails it."""
import subprocess
import sys

from sdk_util import SDK_JS, SDK_PY, ensure_tools

MYPY = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null"]


def test_python_hints_pass_mypy_strict(tmp_path):
    p = subprocess.run([*MYPY, str(SDK_PY / "symbiont"), str(SDK_PY / "examples" / "guide.py")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("from symbiont import SymbiontClient\n"
                   "c = SymbiontClient(base_url='http://localhost:8080')\n"
                   "c.schedule.create(name='x', agent_id='a', max_concurrent='two')\n"
                   "n: int = c.schedule.get('x').name\n")
    p = subprocess.run([*MYPY, str(bad)], capture_output=True, text=True, timeout=300,
                       env={"MYPYPATH": str(SDK_PY), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 1, p.stdout + p.stderr
    assert 'Argument "max_concurrent"' in p.stdout and "bad.py:4" in p.stdout, p.stdout


def tsc(*files, declarations=False):
    """tsc --strict --noEmit. declarations: checks .d.ts files themselves
    (without @types/node); otherwise checks the files' use of them, library
    declarations skipped (they are checked on their own)."""
    mods = ensure_tools()
    common = [str(mods / ".bin" / "tsc"), "--noEmit", "--strict", "--module", "nodenext",
              "--moduleResolution", "nodenext", "--target", "es2022"]
    if declarations:
        extra = ["--skipDefaultLibCheck", "--typeRoots", str(SDK_JS / "testlib")]
    else:
        extra = ["--allowJs", "--checkJs", "--skipLibCheck", "--types", "node", "--typeRoots",
                 str(mods / "@types")]
    return subprocess.run([*common, *extra, *map(str, files)], capture_output=True, text=True,
                          timeout=300, cwd=SDK_JS)


def test_typescript_declarations_check_the_guide_and_typed_use():
    p = tsc(SDK_JS / "index.d.ts", declarations=True)
    assert p.returncode == 0, p.stdout + p.stderr
    p = tsc(SDK_JS / "examples" / "guide.mjs", SDK_JS / "testlib" / "types.ts")
    assert p.returncode == 0, p.stdout + p.stderr
    bad = SDK_JS / "testlib" / "bad-call.tmp.mjs"  # inside the package: it imports itself
    try:
        bad.write_text("import { SymbiontClient } from '@symbiont/sdk-js';\n"
                       "const c = new SymbiontClient({ baseUrl: 'http://localhost:8080' });\n"
                       "await c.schedule.runNow('job', { input: 5 });\n")
        p = tsc(bad)
    finally:
        bad.unlink()
    assert p.returncode != 0 and "bad-call.tmp.mjs(3," in p.stdout, p.stdout
