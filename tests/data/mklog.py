#!/usr/bin/env python3
"""Write sample kvmio protocol logs with correct CRCs: mklog.py NAME > file (good, help, badconfig,
disk, disk-notsc)."""
import sys, zlib

def line(seq, typ, fields):
    body = "@kvmio 1 %s seq=%d%s" % (typ, seq, "".join(" %s=%s" % kv for kv in fields))
    return "%s crc=%08x\n" % (body, zlib.crc32(body.encode()) & 0xffffffff)

HELLO = [("build", "v0-20260101"), ("boot", "multiboot"), ("cmdline", "kvmio.elf%20bench=exits"),
         ("mem_kib", "130048"), ("cpus", "1"), ("cpu_vendor", "AuthenticAMD"), ("cpu_family", "25"),
         ("cpu_model", "1"), ("cpu_stepping", "1"), ("hv", "TCGTCGTCGTCG"), ("accel", "tcg"),
         ("tsc_hz", "2000000000"), ("tsc_method", "pit"), ("invtsc", "1"), ("ts_cost", "40"),
         ("ts", "lfence-rdtsc-lfence"), ("acpi", "0xf5a40"), ("ecam", "none")]
PCI = [("bdf", "00:03.0"), ("id", "1b36:0005"), ("class", "00ff00"), ("rev", "0x00"), ("hdr", "0x00"),
       ("irq", "11/1"), ("caps", "none"), ("bar0", "mem32:0xfebf1000:4096"), ("bar1", "io:0xc000:256"),
       ("access", "cf8")]
RESULT = [("bench", "exits"), ("name", "cpuid"), ("ops", "4"), ("total", "1000"), ("min", "200"),
          ("p50", "250"), ("p90", "300"), ("p99", "300"), ("p999", "300"), ("max", "300"),
          ("mean", "250.00"), ("hist", "192:1,224:1,256:2")]

DISKS = [
    [("index", "0"), ("model", "ide"), ("transport", "pio"), ("irq", "poll"), ("bdf", "00:01.1"),
     ("sectors", "2097152"), ("sector_size", "512"), ("queue_depth", "1"), ("max_sectors", "256"),
     ("label", "no"), ("read_only", "0")],
    [("index", "1"), ("model", "virtio-blk"), ("transport", "modern"), ("irq", "msix"), ("bdf", "00:11.0"),
     ("sectors", "131072"), ("sector_size", "512"), ("queue_depth", "128"), ("max_sectors", "2048"),
     ("label", "yes"), ("label_id", "0x1234abcd5678ef00"), ("read_only", "0")],
]

def disk_result(name, dev, model, transport, irq, rw, bs, qd, ops, elapsed, p50, p99, acc, irqs,
                harness, verify=None):
    total = p50 * ops
    f = [("bench", "disk"), ("name", name), ("ops", str(ops)), ("total", str(total)),
         ("min", str(p50)), ("p50", str(p50)), ("p90", str(p99)), ("p99", str(p99)),
         ("p999", str(p99)), ("max", str(p99)), ("mean", "%d.00" % p50),
         ("hist", "%d:%d" % (p50, ops)), ("dev", str(dev)), ("model", model),
         ("transport", transport), ("irq", irq), ("rw", rw), ("bs", str(bs)), ("qd", str(qd)),
         ("bytes", str(ops * bs)), ("elapsed", str(elapsed)), ("pio_r", str(acc[0])),
         ("pio_w", str(acc[1])), ("mmio_r", str(acc[2])), ("mmio_w", str(acc[3])),
         ("irqs", str(irqs)), ("flushes", "0"), ("harness_mean", harness)]
    if verify:
        f += [("verify", verify), ("seed", "7")]
    return f

def log(kind):
    hello = HELLO
    if kind == "disk-notsc":
        hello = [(k, "0" if k == "tsc_hz" else v) for k, v in HELLO]
    recs = [("hello", hello)]
    status = "ok"
    if kind == "good":
        recs += [("pci", PCI), ("result", RESULT),
                 ("skip", [("bench", "exits"), ("name", "mmio-bar"), ("reason", "no%20pci-testdev")])]
    elif kind == "help":
        recs += [("option", [("name", "bench"), ("default", "exits"), ("help", "benchmarks%20to%20run")]),
                 ("option", [("name", "ops"), ("default", "10000"), ("help", "operations%20per%20series")])]
    elif kind in ("disk", "disk-notsc"):
        recs += [("disk", d) for d in DISKS]
        # 2 GHz: 1000 ops in 0.1 s = 10000 IOPS, 40.96 MB/s; p50 90 us, p99 200 us
        recs.append(("result", disk_result("randread-4k-qd1", 1, "virtio-blk", "modern", "msix",
                                           "randread", 4096, 1, 1000, 200000000, 180000, 400000,
                                           (0, 0, 1000, 2000), 1000, "3846.78")))
        # 100 ops of 64 KiB in 0.05 s = 2000 IOPS, 131.07 MB/s; 23 port accesses per op, no irqs
        recs.append(("result", disk_result("read-64k-qd1", 0, "ide", "pio", "poll", "read", 65536,
                                           1, 100, 100000000, 1000000, 1200000, (1600, 700, 0, 0),
                                           0, "52000.50")))
        recs.append(("result", disk_result("verify-read", 1, "virtio-blk", "modern", "msix",
                                           "verify-read", 4096, 1, 10, 1000000, 100000, 100000,
                                           (0, 0, 20, 10), 10, "0.00", verify="ok")))
    elif kind == "badconfig":
        recs += [("error", [("code", "badconfig"), ("msg", "unknown%20option"), ("key", "foo"), ("value", "1")])]
        status = "badconfig"
    recs.append(("end", [("status", status), ("records", str(len(recs)))]))
    return "".join(line(i, t, f) for i, (t, f) in enumerate(recs))

sys.stdout.write(log(sys.argv[1] if len(sys.argv) > 1 else "good"))
