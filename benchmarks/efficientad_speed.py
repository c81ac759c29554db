"""EfficientAD / PUAD inference speed: latency at batch 1 and throughput at batch 16, PyTorch, onnxruntime and OpenVINO
(CPU; OpenVINO when installed),
and PyTorch fp16 on a GPU when there is one. Weights do not change the speed: the graphs are untrained unless --model
names a saved model.

    python benchmarks/efficientad_speed.py                       # S and M, 2 threads, prints a table, writes a csv
    python benchmarks/efficientad_speed.py --model runs/puad.pt  # a fitted model (its size), same measurements
"""
import argparse, os, platform, statistics, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch

def timed(fn, n:int, warmup:int=3, sync=lambda: None)->list:
    for _ in range(warmup): fn()
    sync(); out = []
    for _ in range(n):
        t = time.perf_counter(); fn(); sync(); out.append(time.perf_counter() - t)
    return out

def model_for(size:str, path:str|None):
    "A fitted model (from `path`) or an untrained PUAD graph of `size` wrapped as a model."
    from iadnb.core import AnomalyModel
    from iadnb.methods.puad import PUAD
    if path: return AnomalyModel.load(path, device='cpu')
    m = PUAD(model_size=size, device='cpu'); m.graph = m.new_graph(); m.fitted = True
    with torch.no_grad(): m.graph.quantiles.copy_(torch.tensor([0., 1., 0., 1.]))
    return m

def bench(size:str, path:str|None, threads:int, n:int)->list:
    from iadnb.export import export_onnx, export_openvino, OnnxModel, OpenVinoModel, ExportGraph, openvino
    from iadnb.core import ConfigError
    torch.set_num_threads(threads)
    m = model_for(size, path); tf = m.transform
    g = ExportGraph(m.graph, tf.mean.flatten().tolist(), tf.std.flatten().tolist()).eval()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        runtimes = [('onnxruntime', OnnxModel(export_onnx(m, Path(d) / 'm.onnx'), threads=threads))]
        try: openvino(); runtimes.append(('openvino', OpenVinoModel(export_openvino(m, Path(d) / 'm.xml'), threads=threads)))
        except ConfigError as e: print(f'OpenVINO skipped: {e}')
        for bs in (1, 16):
            x = torch.rand(bs, 3, 256, 256)
            with torch.inference_mode(): tt = timed(lambda: g(x), n if bs == 1 else max(3, n // 8))
            timings = [('pytorch', tt)] + [(name, timed(lambda: r(x.numpy()), n if bs == 1 else max(3, n // 8))) for name, r in runtimes]
            for rt, ts in timings:
                rows.append(dict(size=size.upper(), runtime=rt, device=f'cpu x{threads}', precision='fp32', batch=bs,
                                 ms_per_batch=1000 * statistics.median(ts), img_s=bs / statistics.median(ts)))
    if torch.cuda.is_available():
        gc = g.cuda().half()
        sync = torch.cuda.synchronize
        for bs in (1, 16):
            x = torch.rand(bs, 3, 256, 256, device='cuda', dtype=torch.half)
            with torch.inference_mode(): ts = timed(lambda: gc(x), 200, 20, sync)
            rows.append(dict(size=size.upper(), runtime='pytorch', device=torch.cuda.get_device_name(), precision='fp16', batch=bs,
                             ms_per_batch=1000 * statistics.median(ts), img_s=bs / statistics.median(ts)))
    return rows

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', default='s,m'); ap.add_argument('--model', default=None, help='a saved model (its size is used)')
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--n', type=int, default=30, help='timed batch-1 runs')
    ap.add_argument('--out', default='benchmarks/efficientad_speed.csv')
    a = ap.parse_args()
    rows = []
    for s in ([None] if a.model else a.sizes.split(',')): rows += bench(s or 's', a.model, a.threads, a.n)
    df = pd.DataFrame(rows).round(2)
    df['machine'] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(df.to_string(index=False)); df.to_csv(a.out, index=False); print(f'written to {a.out}')
