#!/usr/bin/env python3
"""Runs every example command of README.md against the built release binaries and checks what
each prints: the README is a test.

Rules, as the README is written:
- every ```sh block is an example, except the one holding the two commands (bash scripts/...);
- a line ending in a backslash continues on the next line;
- a comment line right after a command (or after another such line) is output the command must
  print, as a substring; `<...>` in it stands for any text. Other comment lines are prose;
- each command must exit 0;
- a command ending in ` &` is a long-running program (the counter station's agent): it is started
  in its own session and left running, its expected lines are awaited in what it prints (up to
  three minutes), it must still be running then, and it is stopped at the end.
The examples run as the README says, "with the server running": this script does what
scripts/run.sh does (dev-certs, then serve on 127.0.0.1:7443) in a scratch folder laid out like
a checkout (.build and scripts linked, ../shared beside it, its own certificates, audit log and
HOME), so a developer's own .data and certs are never touched.

Usage: readme-examples.py REPO SHARED
Prints one line per example and ends with "readme examples: N passed, M failed".
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def examples(readme: str):
    """(command, [expected lines]) in README order."""
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    out = []
    for block in blocks:
        if "bash scripts/run.sh" in block and "bash scripts/test.sh" in block:
            continue
        lines = block.split("\n")
        i = 0
        current = None
        while i < len(lines):
            line = lines[i].rstrip()
            if not line.strip():
                current = None
                i += 1
                continue
            if line.lstrip().startswith("#"):
                if current is not None:
                    current[1].append(line.lstrip()[1:].strip())
                i += 1
                continue
            command = line
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            # A trailing comment on the command's line is prose.
            command = re.sub(r"\s+#\s.*$", "", command)
            current = (command, [])
            out.append(current)
            i += 1
    return out


def pattern(expected: str):
    parts = re.split(r"<[^>]*>", expected)
    return re.compile(".*?".join(re.escape(p) for p in parts))


def main() -> int:
    repo, shared = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    cases = examples((repo / "README.md").read_text())
    scratch = Path(tempfile.mkdtemp(prefix="simverify-readme-"))
    work, home = scratch / "work", scratch / "home"
    work.mkdir()
    home.mkdir()
    (scratch / "shared").symlink_to(shared)
    for name in [".build", "scripts", "Fixtures", "simverify.example.json"]:
        (work / name).symlink_to(repo / name)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    (home / ".cache").symlink_to(cache)
    env = dict(os.environ, HOME=str(home), OPENBLAS_NUM_THREADS="1")
    env.pop("XDG_CACHE_HOME", None)
    binary = work / ".build/release/simverify"
    subprocess.run([str(binary), "dev-certs", "--out", "certs/generated"], cwd=work, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = open(scratch / "server.log", "w")
    server = subprocess.Popen([str(binary), "serve"], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(600):
            if "listening" in (scratch / "server.log").read_text() or server.poll() is not None:
                break
            time.sleep(0.1)
        if "listening" not in (scratch / "server.log").read_text():
            print("readme examples: the server did not start:\n" + (scratch / "server.log").read_text())
            print(f"readme examples: 0 passed, {len(cases)} failed")
            return 1
        # One bash process runs them all, so variables set by one example serve the next.
        outputs = scratch / "out"
        outputs.mkdir()
        script = ["set -u"]
        background = {}
        for n, (command, _) in enumerate(cases):
            if command.endswith(" &"):
                quoted = command[:-2].replace("'", "'\\''")
                script.append(f"setsid bash -c '{quoted}' > {outputs}/{n} 2>&1 < /dev/null & echo $! > {outputs}/{n}.pid")
                background[n] = None
            else:
                script.append(f"{{ {command} ; }} > {outputs}/{n} 2>&1; echo $? > {outputs}/{n}.rc")
        subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, timeout=1800)
        for n in background:
            background[n] = int((outputs / f"{n}.pid").read_text())
        passed = failed = 0
        for n, (command, expected) in enumerate(cases):
            if n in background:
                deadline = time.time() + 180
                while time.time() < deadline:
                    output = (outputs / str(n)).read_text(errors="replace")
                    if all(pattern(e).search(output) for e in expected):
                        break
                    time.sleep(0.5)
                alive = subprocess.run(["kill", "-0", str(background[n])]).returncode == 0
                (outputs / f"{n}.rc").write_text("0" if alive else "exited")
            output = (outputs / str(n)).read_text(errors="replace") if (outputs / str(n)).exists() else ""
            rc = (outputs / f"{n}.rc").read_text().strip() if (outputs / f"{n}.rc").exists() else "not run"
            missing = [e for e in expected if not pattern(e).search(output)]
            if rc == "0" and not missing:
                passed += 1
                print(f"ok    {command}")
            else:
                failed += 1
                print(f"FAIL  {command}\n      exit {rc}; missing: {missing}\n      output:\n" +
                      "\n".join("        " + l for l in output.splitlines()[-25:]))
        print(f"readme examples: {passed} passed, {failed} failed")
        return 0 if failed == 0 and passed > 0 else 1
    finally:
        for pid in background.values() if "background" in locals() else []:
            if pid:
                try:
                    os.killpg(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
