"""PatchCore predict throughput and the nearest-neighbour search against the matmul floor, on a GPU (issue 14).

    python benchmarks/gpu_predict.py [--device cuda] [--batch 32] [--category grid]

1. PatchCore (paper preset: 10 % coreset; on a GPU the exact torch search in fp16 with exact re-ranking), fitted
   on the category's train images at 256 px, then `predict` on its test images repeated to >= 512 images:
   images/s after one warm-up pass.
2. The search alone for one batch's queries (batch x 1024 patches against the bank) in fp32 and fp16, beside the
   same-shape GEMM alone (`q @ bank.T` in that precision): the GEMM is the floor any exact search must pay.
Runs on a CPU too (for checking the script; the figures that count are a GPU's). Prints the device name.
"""
import argparse, time, torch
from iadnb.data import load_category, find_data, AnomalyDataset
from iadnb.core import build_method
from iadnb.memory import NearestNeighbors

def timed(f, sync, n=5):
    "Median seconds of `n` calls after one warm-up."
    f(); sync(); ts = []
    for _ in range(n): t = time.perf_counter(); f(); sync(); ts.append(time.perf_counter() - t)
    return sorted(ts)[n // 2]

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--batch', type=int, default=32); ap.add_argument('--category', default='grid')
    ap.add_argument('--min-images', type=int, default=512)
    a = ap.parse_args()
    dev = torch.device(a.device); cuda = dev.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    print('device:', torch.cuda.get_device_name(dev) if cuda else 'CPU', f'({torch.get_num_threads()} threads)', flush=True)
    root = find_data('mvtec_ad_256')
    if root is None: raise SystemExit("the MVTec AD subset (mvtec_ad_256) is not on this machine: set IADNB_DATA")
    d = load_category('mvtec_ad', root, a.category)
    m = build_method('patchcore', preset='paper', device=a.device, batch_size=a.batch)
    m.fit(AnomalyDataset(d.train, m.transform))
    test = AnomalyDataset(d.test * max(1, -(-a.min_images // len(d.test))), m.transform)
    t = timed(lambda: m.predict(test), sync, n=1)
    print(f'PatchCore predict: {len(test) / t:.0f} images/s ({len(test)} images, batch {a.batch}, 256 px, '
          f'search {m.graph._nn.backend} {m.graph._nn.precision}, bank {tuple(m.bank.shape)})', flush=True)
    bank = m.bank.to(dev); M = a.batch * m.grid[0] * m.grid[1]
    q = bank[torch.randint(len(bank), (M,), generator=torch.Generator().manual_seed(0)).to(dev)] + 0.1 * torch.randn(M, bank.shape[1], device=dev)
    flops = 2 * M * len(bank) * bank.shape[1]
    for prec, dt in (('fp32', torch.float32), ('fp16', torch.float16)):
        if prec == 'fp16' and not cuda: continue
        nn_ = NearestNeighbors('torch', dev, precision=prec).fit(bank)
        ts = timed(lambda: nn_.search(q, 1), sync)
        qb, bb = q.to(dt), bank.to(dt)
        tg = timed(lambda: qb @ bb.T, sync)
        print(f'search {prec}: {1000 * ts:.1f} ms for {M} x {len(bank)} x {bank.shape[1]}; GEMM alone {1000 * tg:.1f} ms '
              f'({flops / tg / 1e12:.1f} TFLOPS); search / GEMM = {ts / tg:.2f}', flush=True)
