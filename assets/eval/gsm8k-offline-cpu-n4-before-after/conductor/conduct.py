"""Each problem's runs of the two engines back to back (GSI then sbon-big for one engine, then the other; which
engine goes first alternates by problem), so the engines share the host's speed problem by problem."""
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = ["before", "after"]


def read(name, kind):
    with open(os.path.join(HERE, f"{name}.{kind}")) as fifo:
        return fifo.readline().strip()


def log(text):
    print(time.strftime("%H:%M:%S"), text, flush=True)


upcoming = {name: read(name, "ready") for name in ENGINES}
log(f"ready: {upcoming}")
while any(key != "finished" for key in upcoming.values()):
    problem = min(int(key.split()[0]) for key in upcoming.values() if key != "finished")
    order = ENGINES if problem % 2 == 0 else ENGINES[::-1]
    for name in order:
        while upcoming[name] != "finished" and int(upcoming[name].split()[0]) == problem:
            key = upcoming[name]
            start = time.time()
            with open(os.path.join(HERE, f"{name}.go"), "w") as fifo:
                fifo.write(key + "\n")
            assert read(name, "done") == key
            log(f"{name} {key} {time.time() - start:.1f} s")
            upcoming[name] = read(name, "ready")
log("all done")
