"""The examples run (examples/python-agent) against the real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

from gh_server import REPO, server


class ExamplesTest(unittest.TestCase):
    def test_python_agent(self) -> None:
        srv = server()
        env = dict(os.environ, GATEHOUSE_URL=srv.url, GATEHOUSE_TOKEN=srv.keys["ALICE_KEY"],
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        out = subprocess.run([sys.executable, os.path.join(REPO, "examples", "python-agent", "agent.py")],
                             env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertIn("-> ran escalation-triage on ticket T-1042", lines[1])
        self.assertIn("DENIED (no_grant)", lines[2])
        self.assertIn("carol cannot run chains/database-migration", lines[2], "the explanation is shown")
        self.assertEqual(lines[-1], "done: 2 tool calls allowed, 1 denied")

    def test_quickstarts(self) -> None:
        """The quickstart of the package's README and of docs/sdk-python.md
        run as printed (only the server's address differs) and print what
        their comments promise."""
        srv = server()
        for doc in ("sdk/python/README.md", "docs/sdk-python.md"):
            with self.subTest(doc=doc):
                with open(os.path.join(REPO, doc), encoding="utf-8") as f:
                    m = re.search(r"```python\n(.*?)```", f.read(), re.S)
                self.assertIsNotNone(m, f"{doc} has no python block")
                code = m.group(1)
                self.assertIn("http://127.0.0.1:8080", code, "the quickstart talks to serve --dev's address")
                code = code.replace("http://127.0.0.1:8080", srv.url)
                env = dict(os.environ, GATEHOUSE_TOKEN=srv.keys["ALICE_KEY"],
                           PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
                out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
                self.assertEqual(out.returncode, 0, out.stderr)
                lines = out.stdout.splitlines()
                self.assertEqual(lines[0].split()[0], "True", out.stdout)
                if len(lines) > 1:
                    self.assertIn("alice can run chains/escalation-triage in prod", lines[1])


if __name__ == "__main__":
    unittest.main()
