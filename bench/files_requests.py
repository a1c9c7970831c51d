"""Files requests per job, counted by the fake (BENCHMARKS.md, "Files requests per job"):
N jobs (own CSV + shared CSV, 1 pause_turn, the fake's two default outputs), optionally with
`expect`. Usage: python3 bench/files_requests.py RUNNER FAKE N [expect]"""
import json, os, subprocess, sys, tempfile, urllib.request
from pathlib import Path
runner, fake, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
expect = len(sys.argv) > 4
d = Path(tempfile.mkdtemp(prefix="count-"))
(d / "data").mkdir()
(d / "data" / "shared.csv").write_text("k,v\n" + "".join(f"{i},{i}\n" for i in range(200)))
for i in range(n):
    (d / "data" / f"job-{i:04d}.csv").write_text(f"job,{i}\n1,2\n")
exp = "\n    expect: [plot.png, \"*.csv\"]" if expect else ""
(d / "m.yaml").write_text(f"""version: 1
defaults:
  model: claude-sonnet-4-6
jobs:
  - name: "{{{{ stem }}}}"
    for_each: "data/job-*.csv"
    inputs: ["{{{{ path }}}}", data/shared.csv]
    prompt: |
      Summarise {{{{ name }}}}.
      @fake pause 1{exp}
""")
p = subprocess.Popen([fake, "--port", "0"], stdout=subprocess.PIPE, text=True)
url = p.stdout.readline().strip().removeprefix("listening on ")
env = dict(os.environ, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-bench")
r = subprocess.run([runner, "-q", "run", str(d / "m.yaml"), "-j", "8", "-o", str(d / "out"),
                    "--state-dir", str(d / "state")], env=env)
st = json.load(urllib.request.urlopen(f"{url}/_fake/stats"))
p.terminate()
req = st["requests"]
files = {k: req.get(k, 0) for k in ["upload", "list_files", "get_file", "download"]}
gen = len(st["generated_files"])
print(f"rc={r.returncode} jobs={n} generated={gen} " + " ".join(f"{k}={v}" for k, v in files.items())
      + f" files_total={sum(files.values())} per_job={sum(files.values())/n:.2f}"
      + f" for_outputs_per_job={(files['list_files'] - 1 + files['get_file'] + files['download'])/n:.2f}")
