"""doer from a program: one run with -c, every line of its output a JSON record.

--jsonl gives each record's type, the request and the line it answers, the
worker and the times; the text is what the console would print.
"""

import json
import subprocess

out = subprocess.run(
    ["doer", "--jsonl", "-c", "ping", "-c", "whoami"], capture_output=True, check=False
)
for record in map(json.loads, out.stdout.splitlines()):
    worker = record["worker"]
    print(f"{record['type']} to {record['line']!r} from {worker['name']} (pid {worker['pid']}):")
    print(f"  {record['text']}")
print("exit status", out.returncode)
