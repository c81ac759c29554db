"""PatchCore predict with a memory bank of about 1e6 rows: peak RSS per search backend (issue 14).

    python benchmarks/bank_memory.py [--rows 1000000]

PatchCore (paper preset) is fitted on grid, then its memory is replaced by --rows rows: every training patch, repeated
with small noise until there are enough (real feature statistics, 152 dims). Each backend runs in a fresh process,
which predicts the first --images of grid's test images (batch 32). Printed per backend: the bank's size, RSS before the memory is set,
after the index is built, and the peak during predict, so the search's own working memory is the last minus the
one before it.
"""
import argparse, json, subprocess, sys, time

def _status(key:str)->float:
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024

def rss_mb()->float: return _status('VmRSS')
def reset_peak():
    "Linux: restart the peak-RSS counter (VmHWM) from the current RSS."
    with open('/proc/self/clear_refs', 'w') as f: f.write('5')
def peak_mb()->float: return _status('VmHWM')

def child(backend:str, rows:int, n_images:int)->dict:
    import torch
    from iadnb.data import load_category, find_data, AnomalyDataset
    from iadnb.core import build_method
    d = load_category('mvtec_ad', find_data('mvtec_ad_256'), 'grid')
    m = build_method('patchcore', preset='paper', device='cpu', batch_size=32, coreset_ratio=1.0, knn_backend='faiss')
    m.fit(AnomalyDataset(d.train, m.transform))            # coreset 1.0: every training patch is in m.bank
    g = torch.Generator().manual_seed(0)
    reps = -(-rows // len(m.bank))
    big = torch.cat([m.bank + (0.05 * m.bank.std() * torch.randn(m.bank.shape, generator=g) if r else 0) for r in range(reps)])[:rows].contiguous()
    m.bank = m.bank_groups = None; m.graph = None
    import gc; gc.collect()
    base = rss_mb()
    graph = build_method('patchcore', preset='paper', device='cpu', batch_size=32, knn_backend=backend)._new_graph()
    graph.set_memory(big, None); del big; gc.collect()
    if backend == 'ivf': graph.set_nprobe(max(1, graph._nn.lists // 64))
    built = rss_mb()
    test = AnomalyDataset(d.test[:n_images], m.transform)
    from iadnb.data import make_loader
    reset_peak(); t = time.perf_counter()
    with torch.inference_mode():
        for b in make_loader(test, batch_size=32): graph(b['image'])
    return dict(backend=backend, rows=rows, bank_mb=rows * 152 * 4 / 2**20, rss_before_mb=base, rss_index_mb=built,
                peak_predict_mb=peak_mb(), predict_img_s=len(test) / (time.perf_counter() - t))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rows', type=int, default=1_000_000); ap.add_argument('--backends', default='faiss,torch,ivf')
    ap.add_argument('--child', default=None)
    ap.add_argument('--images', type=int, default=32, help="grid test images predicted (one batch of 32: the exact search of 1e6 rows costs ~0.3 TFLOP per image)")
    a = ap.parse_args()
    if a.child: print(json.dumps(child(a.child, a.rows, a.images))); raise SystemExit
    import pandas as pd
    rows = []
    for be in a.backends.split(','):
        out = subprocess.run([sys.executable, __file__, '--child', be, '--rows', str(a.rows), '--images', str(a.images)], capture_output=True, text=True)
        if out.returncode: print(out.stderr[-2000:]); continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1])); print(rows[-1], flush=True)
    print(pd.DataFrame(rows).round(1).to_string(index=False))
