"""MuSc speed and memory: ms per image and peak resident memory against N (the images scored together), each
configuration in a fresh process (so its peak memory is its own). Zero-shot, the whole test-time path timed:
decoding, features, LNAMD, mutual scoring, RsCIN.

    python benchmarks/musc_speed.py                       # Lite0 at N = 50, 100, 200; CLIP ViT-B-16 / B-32 at N = 78, 100
    python benchmarks/musc_speed.py --device cuda --vit-ns 78,100,200 --vits clip:ViT-B-16,clip:ViT-L-14-336

Images: the shared MVTec AD subset (grid and transistor test images, then transistor train images to reach
N = 200). ViTs run with random weights (timing only), as the reference timing did (layers 2/5/8/11, r = 1/3/5, fp32).
"""
import argparse, json, os, resource, subprocess, sys, time
from pathlib import Path

def one(backbone, n, image_size, device, budget_mb, batch_size=4):
    import torch
    from iadnb.core import build_method
    from iadnb.data import AnomalyDataset, find_data, load_category
    root = find_data('mvtec_ad_256')
    g, t = load_category('mvtec_ad', root, 'grid'), load_category('mvtec_ad', root, 'transistor')
    pool = {78: g.test, 100: t.test}.get(n) or (g.test + t.test + t.train)[:n]
    if len(pool) < n: raise SystemExit(f'only {len(pool)} images for N={n}')
    vit = backbone.startswith('clip:')
    m = build_method('musc', backbone=backbone, image_size=image_size, device=device, budget_mb=budget_mb, batch_size=batch_size,
                     weights=None if vit else 'auto').fit(None)
    ds = AnomalyDataset(pool, m.transform)
    if device == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter(); p = m.predict(ds)
    if device == 'cuda': torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = dict(backbone=backbone, weights='random' if vit else 'imagenet', image_size=image_size, N=n, device=device,
               batch_size=batch_size, threads=torch.get_num_threads(), ms_per_image=1000 * wall / n, wall_s=wall,
               features_s=m.timings['features_s'], lnamd_s=m.timings['lnamd_s'], msm_s=m.timings['msm_s'], peak_rss_mb=rss,
               peak_gpu_mb=torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else None)
    print('RESULT ' + json.dumps(out), flush=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cnn', default='tf_efficientnet_lite0'); ap.add_argument('--cnn-ns', default='50,100,200')
    ap.add_argument('--vits', default='clip:ViT-B-16,clip:ViT-B-32'); ap.add_argument('--vit-ns', default='78,100')
    ap.add_argument('--image-size', type=int, default=256); ap.add_argument('--device', default='cpu')
    ap.add_argument('--budget-mb', type=float, default=512); ap.add_argument('--batch-size', type=int, default=4)
    ap.add_argument('--out', default='benchmarks/musc_speed_cpu2.csv'); ap.add_argument('--one', nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one: one(a.one[0], int(a.one[1]), a.image_size, a.device, a.budget_mb, a.batch_size); sys.exit()
    import pandas as pd
    jobs = [(a.cnn, int(n)) for n in a.cnn_ns.split(',') if n] + [(v, int(n)) for v in a.vits.split(',') if v for n in a.vit_ns.split(',') if n]
    rows = []
    for bb, n in jobs:
        r = subprocess.run([sys.executable, __file__, '--one', bb, str(n), '--image-size', str(a.image_size), '--device', a.device,
                            '--budget-mb', str(a.budget_mb), '--batch-size', str(a.batch_size)], capture_output=True, text=True, env={**os.environ, 'IADNB_PROGRESS': '0'})
        got = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')]
        if not got: print(f'{bb} N={n} failed:\n{r.stderr[-2000:]}', flush=True); continue
        rows.append(json.loads(got[0][7:])); print(pd.DataFrame(rows[-1:]).round(2).to_string(index=False), flush=True)
        pd.DataFrame(rows).to_csv(a.out, index=False)
    df = pd.DataFrame(rows); print(df.round(2).to_string(index=False))
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for bb, d in df.groupby('backbone'):
        ax[0].plot(d.N, d.ms_per_image, 'o-', label=bb); ax[1].plot(d.N, d.peak_rss_mb, 'o-', label=bb)
    ax[0].set(xlabel='N (images scored together)', ylabel='ms / image'); ax[1].set(xlabel='N', ylabel='peak RSS (MB)')
    ax[0].legend(); fig.suptitle(f'MuSc zero-shot, {a.image_size} px, {a.device}, {df.threads.iloc[0]} threads'); fig.tight_layout()
    fig.savefig(Path(a.out).with_suffix('.png'), dpi=110)
