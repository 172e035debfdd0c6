#!/usr/bin/env python3
"""Write the fixture result directory of `kvmio report` (docs/run.md) next to this script:
matrix.tsv, results.csv, runs/ID/rN/{serial.log,exit}. Serial logs carry correct CRCs and hist
fields built from simulated samples (fixed seed: the output is the same on every run).
Configurations: a virtio-blk msix/intx + IDE disk job with a qd sweep (1,4,16) and a bs sweep
(4k, 64k), net-rr and net-tx over three NIC models, an exits job with tsc_hz=0, one skip."""
import math, os, random, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = "v0.9-41-g1a2b3c4-20260105"
REPEAT = 3
OPS = 2000

def line(seq, typ, fields):
    body = "@kvmio 1 %s seq=%d%s" % (typ, seq, "".join(" %s=%s" % kv for kv in fields))
    return "%s crc=%08x\n" % (body, zlib.crc32(body.encode()) & 0xffffffff)

def bucket(v):
    if v < 8:
        return v
    k = v.bit_length() - 1
    base = 1 << k
    return base + ((v - base) * 4 // base) * base // 4

def series(rng, ops, median, spread, tail):
    """Per-op cycle samples: log-normal around median, plus a slow tail fraction."""
    s = []
    for _ in range(ops):
        v = median * math.exp(rng.gauss(0, spread))
        if rng.random() < tail:
            v *= 3 + 5 * rng.random()
        s.append(max(1, int(v)))
    return s

def common(bench, name, samples):
    s = sorted(samples)
    n = len(s)
    pct = lambda p: s[max(0, math.ceil(p * n / 1000) - 1)]
    total = sum(s)
    hist = {}
    for v in s:
        b = bucket(v)
        hist[b] = hist.get(b, 0) + 1
    mean = "%d.%02d" % (total // n, (total % n) * 100 // n)
    return [("bench", bench), ("name", name), ("ops", str(n)), ("total", str(total)),
            ("min", str(s[0])), ("p50", str(pct(500))), ("p90", str(pct(900))),
            ("p99", str(pct(990))), ("p999", str(pct(999))), ("max", str(s[-1])),
            ("mean", mean), ("hist", ",".join("%d:%d" % kv for kv in sorted(hist.items())))]

def hello(accel, tsc_hz, cmdline):
    return [("build", BUILD), ("boot", "multiboot"), ("cmdline", cmdline.replace(" ", "%20")),
            ("mem_kib", "130048"), ("cpus", "1"), ("cpu_vendor", "AuthenticAMD"),
            ("cpu_family", "25"), ("cpu_model", "1"), ("cpu_stepping", "1"),
            ("hv", "TCGTCGTCGTCG"), ("accel", accel), ("tsc_hz", str(tsc_hz)),
            ("tsc_method", "pit" if tsc_hz else "none"), ("invtsc", "1"), ("ts_cost", "38"),
            ("ts", "lfence-rdtsc-lfence"), ("acpi", "0xf5a40"), ("ecam", "none"),
            ("pci_access", "cf8")]

HZ = 2000000000
# Disk device behaviour per configuration: latency at qd1 (us), accesses/op split, irqs/op.
DISK = {
    "virtio-blk-msix": dict(model="virtio-blk", transport="modern", irq="msix", bdf="00:18.0",
                            lat=38.0, acc=(0, 0, 0, 1), irqop=1, qdmax=128, noise=0.02),
    "virtio-blk-intx": dict(model="virtio-blk", transport="modern", irq="intx", bdf="00:18.0",
                            lat=44.0, acc=(0, 0, 1, 1), irqop=1, qdmax=128, noise=0.09),
    "ide-dma": dict(model="ide", transport="dma", irq="intx", bdf="00:01.1", lat=95.0,
                    acc=(3, 7, 0, 0), irqop=1, qdmax=1, noise=0.02),
}
NIC = {
    "virtio-net": dict(transport="modern", irq="msix", rr=120.0, tx=18.0, acc=(0, 0, 0, 1),
                       bdf="00:18.0"),
    "e1000": dict(transport="pci", irq="intx", rr=210.0, tx=31.0, acc=(0, 0, 3, 2),
                  bdf="00:18.0"),
    "rtl8139": dict(transport="pci", irq="intx", rr=265.0, tx=44.0, acc=(6, 4, 0, 0),
                    bdf="00:18.0"),
}

def disk_results(rng, dev, jitter):
    recs = [("disk", [("index", "0"), ("model", dev["model"]), ("transport", dev["transport"]),
                      ("irq", dev["irq"]), ("bdf", dev["bdf"]), ("sectors", "2097152"),
                      ("sector_size", "512"), ("queue_depth", str(dev["qdmax"])),
                      ("max_sectors", "256"), ("label", "no"), ("read_only", "0")])]
    runs = [("randread", 4096, 1), ("read", 4096, 1), ("read", 65536, 1)]
    if dev["qdmax"] > 1:
        runs += [("randread", 4096, 4), ("randread", 4096, 16)]
    for rw, bs, qd in runs:
        base = dev["lat"] * jitter * (1 + 0.7 * (bs // 4096 - 1) / 15) * (1 + 0.45 * (qd - 1))
        samples = series(rng, OPS, base * HZ / 1e6, 0.12, 0.01)
        name = "%s-%dk-qd%d" % (rw, bs // 1024, qd)
        elapsed = sum(samples) // qd
        f = common("disk", name, samples)
        a = dev["acc"]
        f += [("dev", "0"), ("model", dev["model"]), ("transport", dev["transport"]),
              ("irq", dev["irq"]), ("rw", rw), ("bs", str(bs)), ("qd", str(qd)),
              ("bytes", str(OPS * bs)), ("elapsed", str(elapsed)),
              ("pio_r", str(a[0] * OPS)), ("pio_w", str(a[1] * OPS)),
              ("mmio_r", str(a[2] * OPS)), ("mmio_w", str(a[3] * OPS)),
              ("irqs", str(dev["irqop"] * OPS)), ("harness_mean", "812.40"), ("flushes", "0")]
        recs.append(("result", f))
    return recs

def net_results(rng, model, bench, size, jitter):
    n = NIC[model]
    recs = [("nic", [("index", "0"), ("model", model), ("transport", n["transport"]),
                     ("mac", "52:54:00:12:34:56"), ("irq", n["irq"]), ("bdf", n["bdf"]),
                     ("link", "up"), ("tx_slots", "256")])]
    lat = (n["rr"] if bench == "net-rr" else n["tx"]) * jitter
    samples = series(rng, OPS, lat * HZ / 1e6, 0.15, 0.02)
    elapsed = sum(samples) if bench == "net-rr" else int(sum(samples) * 1.6)
    a = n["acc"]
    f = common(bench, "%s-%d" % (bench[4:], size), samples)
    f += [("dev", "0"), ("rxdev", "0"), ("model", model), ("transport", n["transport"]),
          ("irq", n["irq"]), ("size", str(size)), ("burst", "1" if bench == "net-rr" else "8"),
          ("frames", str(OPS)), ("sent", str(OPS) if bench == "net-rr" else "0"),
          ("bytes", str(OPS * size)), ("elapsed", str(elapsed)),
          ("pio_r", str(a[0] * OPS)), ("pio_w", str(a[1] * OPS)), ("mmio_r", str(a[2] * OPS)),
          ("mmio_w", str(a[3] * OPS)), ("irqs", str(OPS if n["irq"] != "poll" else 0)),
          ("harness_mean", "402.10"), ("rx", str(OPS)), ("rx_ok", str(OPS)), ("lost", "0"),
          ("corrupt", "0"), ("reordered", "0"), ("dup", "0"), ("foreign", "0"), ("missed", "0")]
    return recs + [("result", f)]

def exits_results(rng, jitter):
    recs = []
    for name, cyc in (("cpuid", 2400), ("pio-unhandled", 5200)):
        recs.append(("result", common("exits", name, series(rng, OPS, cyc * jitter, 0.08, 0.01))))
    return recs

# id, status, reason, params (dict), generator
CONFIGS = []
def add(params, gen=None, skip=None):
    CONFIGS.append(("c%03d" % (len(CONFIGS) + 1), params, gen, skip))

for key in ("virtio-blk-msix", "virtio-blk-intx", "ide-dma"):
    d = DISK[key]
    p = {"machine": "pc", "accel": "tcg", "bench": "disk", "disk": d["model"], "irq": d["irq"],
         "backend": "null", "sweep": "1"}
    if d["model"] == "ide":
        p["ata_mode"] = "dma"
    else:
        p["disk_transport"] = "modern"
    add(p, lambda rng, j, d=d: disk_results(rng, d, j))
for bench, size in (("net-rr", 60), ("net-tx", 1514)):
    for model in ("virtio-net", "e1000", "rtl8139"):
        p = {"machine": "pc", "accel": "tcg", "bench": bench, "net": model,
             "topology": "peer" if bench == "net-rr" else "loop", "frame": str(size),
             "irq": NIC[model]["irq"]}
        add(p, lambda rng, j, m=model, b=bench, s=size: net_results(rng, m, b, s, j))
add({"machine": "pc", "accel": "tcg", "bench": "exits", "firmware": "bios"},
    lambda rng, j: exits_results(rng, j))
add({"machine": "q35", "accel": "tcg", "bench": "disk", "disk": "ide"},
    skip="IDE needs machine=pc (q35: AHCI & no <ide> bus)")

CSV_COLS = ("config,repeat,exit,params,bench,name,ops,total,min,p50,p90,p99,p999,max,mean,"
            "tsc_hz,accel,iops,mbps,frames_s,gbps,acc_op,irq_op,harness,p50_ns,p99_ns,lost,"
            "corrupt").split(",")

def csv_row(cid, rep, params, hz, f):
    g = dict(f)
    ops = int(g["ops"])
    row = {"config": cid, "repeat": rep, "exit": 0, "params": '"%s"' % params, "tsc_hz": hz,
           "accel": "tcg"}
    for k in ("bench", "name", "ops", "total", "min", "p50", "p90", "p99", "p999", "max", "mean"):
        row[k] = g[k]
    if "elapsed" in g:
        el = int(g["elapsed"])
        acc = sum(int(g[k]) for k in ("pio_r", "pio_w", "mmio_r", "mmio_w"))
        cnt = int(g.get("frames", ops))
        if g["bench"] == "disk":
            row["iops"] = "%.2f" % (ops * hz / el)
            row["mbps"] = "%.2f" % (int(g["bytes"]) * hz / el / 1e6)
        else:
            row["frames_s"] = "%.2f" % (cnt * hz / el)
            row["gbps"] = "%.4f" % (int(g["bytes"]) * 8 * hz / el / 1e9)
            row["lost"], row["corrupt"] = g["lost"], g["corrupt"]
        row["acc_op"] = "%.2f" % (acc / cnt)
        row["irq_op"] = "%.2f" % (int(g["irqs"]) / cnt)
        row["harness"] = g["harness_mean"]
    if hz:
        row["p50_ns"] = "%.1f" % (int(g["p50"]) * 1e9 / hz)
        row["p99_ns"] = "%.1f" % (int(g["p99"]) * 1e9 / hz)
    return ",".join(str(row.get(c, "")) for c in CSV_COLS)

def main():
    rng = random.Random(20260105)
    matrix, csv = [], [",".join(CSV_COLS)]
    for cid, p, gen, skip in CONFIGS:
        params = ";".join("%s=%s" % kv for kv in sorted(p.items()))
        matrix.append("\t".join((cid, "skip" if skip else "run", skip or "-", params)))
        if skip:
            continue
        hz = 0 if p["bench"] == "exits" else HZ
        for rep in range(1, REPEAT + 1):
            jitter = 1 + rng.gauss(0, 0.09 if cid == "c002" else 0.02)
            cmd = "kvmio.elf " + " ".join("%s=%s" % kv for kv in sorted(p.items())
                                          if kv[0] not in ("machine", "accel", "firmware"))
            recs = [("hello", hello("tcg", hz, cmd))] + gen(rng, jitter)
            recs.append(("end", [("status", "ok"), ("records", str(len(recs)))]))
            d = os.path.join(HERE, "runs", cid, "r%d" % rep)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "serial.log"), "w") as fp:
                fp.write("SeaBIOS (version 1.16.2-debian-1.16.2-1)\n")
                fp.write("".join(line(i, t, f) for i, (t, f) in enumerate(recs)))
            with open(os.path.join(d, "exit"), "w") as fp:
                fp.write("0\n")
            for t, f in recs:
                if t == "result":
                    csv.append(csv_row(cid, rep, params, hz, f))
    with open(os.path.join(HERE, "matrix.tsv"), "w") as fp:
        fp.write("\n".join(matrix) + "\n")
    with open(os.path.join(HERE, "results.csv"), "w") as fp:
        fp.write("\n".join(csv) + "\n")

main()
