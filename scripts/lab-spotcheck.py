#!/usr/bin/env python3
"""Spot-check `stsmap lab serve` against `stsmap lab truth` with independent clients (dig, curl).

For N domains of a list, asks the running lab with `dig` (MX, TXT _mta-sts) and `curl` (the policy URL, with the
lab CA and --resolve to the lab's HTTPS address) and compares what they show with the truth row: MX status and
hosts, the STS record status and text, the policy's HTTP status and mode. Loopback only; stops what it starts.

usage: scripts/lab-spotcheck.py [--profile adversarial] [--seed 7] [--n 40] [--list data/sample.csv]
"""
import argparse, csv, io, os, random, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--profile", default="adversarial")
ap.add_argument("--seed", default="7")
ap.add_argument("--n", type=int, default=40)
ap.add_argument("--list", default="data/sample.csv")
ap.add_argument("--bin", default="target/release/stsmap")
args = ap.parse_args()

DNS, HTTPS = "127.0.0.1:25391", "127.0.0.1:28491"
tmp = tempfile.mkdtemp(prefix="stsmap-spot-")
ca = os.path.join(tmp, "ca.pem")
truth = subprocess.run([args.bin, "lab", "truth", "--input", args.list, "--profile", args.profile,
                        "--seed", args.seed], check=True, capture_output=True, text=True).stdout
rows = [r for r in csv.DictReader(io.StringIO(truth)) if r["input_status"] == "ok"]
random.seed(1)
sample = random.sample(rows, min(args.n, len(rows)))
lab = subprocess.Popen([args.bin, "lab", "serve", "--dns", DNS, "--https", HTTPS, "--ca-out", ca,
                        "--profile", args.profile, "--seed", args.seed], stdout=subprocess.DEVNULL)
try:
    for _ in range(50):
        if os.path.exists(ca):
            break
        time.sleep(0.1)
    time.sleep(0.3)

    def dig(name, qtype):
        out = subprocess.run(["dig", "+norec", "+tries=2", "+time=2", "-p", DNS.split(":")[1], "@127.0.0.1",
                              name, qtype], capture_output=True, text=True).stdout
        status = out.split("status: ")[1].split(",")[0] if "status: " in out else "?"
        answers, section = [], False
        for line in out.splitlines():
            if line.startswith(";; ANSWER SECTION"):
                section = True
                continue
            if section:
                if not line.strip():
                    break
                f = line.split(None, 4)
                if f[3] == qtype:
                    answers.append(f[4])
        return status, answers

    bad = 0
    for r in sample:
        d = r["domain"]
        problems = []
        st, mx = dig(d, "MX")
        hosts = sorted(a.split()[1].rstrip(".").lower() for a in mx if a.split()[1] != ".")
        want_mx = {"ok": "NOERROR", "no_mx": "NOERROR", "null_mx": "NOERROR", "nxdomain": "NXDOMAIN"}[r["mx_status"]]
        if st != want_mx or hosts != sorted(r["mx_hosts"].split()):
            problems.append(f"MX {st} {hosts} vs truth {r['mx_status']} {r['mx_hosts']}")
        st, txt = dig("_mta-sts." + d, "TXT")
        texts = ["".join(s.strip('"') for s in t.split('" "')) for t in txt]
        sts = [t for t in texts if t.startswith("v=STSv1")]
        if r["sts_record_status"] == "valid" and sts != [r["sts_record"]]:
            problems.append(f"TXT {sts} vs truth {r['sts_record']!r}")
        if r["sts_record_status"] == "absent" and sts:
            problems.append(f"TXT {sts} but truth says absent")
        if r["policy_status"] not in ("not_fetched", "dns_error"):
            port = HTTPS.split(":")[1]
            c = subprocess.run(["curl", "-s", "-o", os.path.join(tmp, "body"), "-w", "%{http_code}",
                                "--max-time", "3", "--cacert", ca, "--resolve", f"mta-sts.{d}:{port}:127.0.0.1",
                                f"https://mta-sts.{d}:{port}/.well-known/mta-sts.txt"], capture_output=True, text=True)
            code = c.stdout.strip()
            want = r["policy_http_status"] or "000"
            if r["policy_status"] == "timeout" and r["policy_error"] == "body":
                want = "200"  # headers arrive, the body never ends: curl's --max-time ends it
            if code != want:
                problems.append(f"curl HTTP {code} (exit {c.returncode}) vs truth {r['policy_status']} {want}")
            elif r["policy_status"] == "valid":
                body = open(os.path.join(tmp, "body"), "rb").read().decode("utf-8", "replace")
                if f"mode: {r['policy_mode']}" not in body:
                    problems.append(f"policy body lacks mode {r['policy_mode']}")
        verdict = "ok  " if not problems else "DIFF"
        bad += bool(problems)
        print(f"{verdict} {d:32} mx={r['mx_status']:8} sts={r['sts_record_status']:8} "
              f"policy={r['policy_status']}:{r['policy_error'] or '-'}")
        for p in problems:
            print("     ", p)
    print(f"{len(sample) - bad}/{len(sample)} domains: dig and curl show what lab truth says")
    sys.exit(1 if bad else 0)
finally:
    lab.terminate()
    lab.wait()
