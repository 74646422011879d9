"""The examples run (examples/python-agent) against the real server."""

from __future__ import annotations

import os
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


if __name__ == "__main__":
    unittest.main()
