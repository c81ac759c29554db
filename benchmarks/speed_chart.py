"""Speed against accuracy for every method of iadnb, the chart CSAD publishes: images/s (predict, test images,
batch 16) against the LOCO-style mean of logical and structural AUROC on SynthLOCO, one point per method and
runtime (PyTorch; ONNX / onnxruntime and OpenVINO for the methods whose inference graph exports).

    python benchmarks/speed_chart.py                                    # every method, every category, CPU presets
    python benchmarks/speed_chart.py --categories pushpins --out benchmarks/speed_chart_cpu2
    python benchmarks/speed_chart.py --redraw benchmarks/speed_chart_cpu2.csv   # the figure again from a csv

Each method is fitted with its preset for the device (`--preset auto`: the CPU presets on a CPU, the papers' on a
GPU), then its test images are scored by each runtime. Rows go to `<out>.csv`, the figure to `<out>.png`.
"""
import argparse, json, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd

METHODS = ('patchcore', 'padim', 'spade', 'psad', 'efficientad', 'puad', 'musc', 'csad')

def one(method:str, cat:str, root, preset:str, device:str, runtimes:list, tmp:Path)->list:
    "Fit `method` on one category; a row per runtime: LA, SA, their mean, images/s."
    from iadnb.core import build_method, resolve_preset
    from iadnb.data import load_category, AnomalyDataset
    from iadnb.evaluate import evaluate_category
    from iadnb.export import NOT_EXPORTABLE, export_model, load_export
    data = load_category('synthloco', root, cat)
    m = build_method(method, preset=preset, device=device)
    r = evaluate_category(m, data, pixel=False)
    def row(rt, scores, img_s):
        a = r.loco_aurocs(scores)
        return dict(method=method, runtime=rt, category=cat, LA=100 * a['LA'], SA=100 * a['SA'], mean=50 * (a['LA'] + a['SA']),
                    img_s=img_s, fit_s=r.timings['fit_s'], preset=resolve_preset(method, preset, device), device=device)
    rows = [row('pytorch', r.scores, r.timings['predict_img_s'])]
    if method in NOT_EXPORTABLE: return rows
    for rt in runtimes:
        exp = load_export(export_model(m, tmp / f'{method}_{cat}', rt))
        t = time.perf_counter(); p = exp.predict(AnomalyDataset(data.test, exp.transform))
        rows.append(row(rt, p.scores, len(data.test) / (time.perf_counter() - t)))
    return rows

def draw(df:pd.DataFrame, path:Path, title:str=''):
    "One point per method and runtime: mean images/s (log x) against the mean of LA and SA."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    g = df.groupby(['method', 'runtime'], as_index=False)[['mean', 'img_s']].mean()
    marks = {'pytorch': 'o', 'onnx': 's', 'openvino': '^'}
    colours = {m: plt.cm.tab10(i) for i, m in enumerate(sorted(g['method'].unique()))}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for _, r in g.iterrows():
        ax.scatter(r['img_s'], r['mean'], marker=marks.get(r['runtime'], 'x'), color=colours[r['method']], s=50)
        if r['runtime'] == 'pytorch':      # the exported points sit at the same height: marker and colour name them
            ax.annotate(r['method'], (r['img_s'], r['mean']), fontsize=7, xytext=(4, 3), textcoords='offset points')
    ax.set_xscale('log'); ax.set_xlabel('images / s (predict, log scale)'); ax.set_ylabel('mean of logical and structural AUROC (%)')
    ax.set_title(title or f"SynthLOCO ({', '.join(sorted(df['category'].unique()))})", fontsize=9); ax.grid(alpha=.3)
    for rt, mk in marks.items(): ax.scatter([], [], marker=mk, color='grey', label=rt)
    ax.legend(fontsize=7, loc='lower left'); fig.tight_layout(); fig.savefig(path, dpi=100)
    return g

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--methods', default=','.join(METHODS)); ap.add_argument('--categories', default=None)
    ap.add_argument('--data-root', default=None); ap.add_argument('--preset', default='auto'); ap.add_argument('--device', default='cpu')
    ap.add_argument('--runtimes', default='onnx,openvino'); ap.add_argument('--out', default='benchmarks/speed_chart_cpu2')
    ap.add_argument('--redraw', default=None, help='a csv written by this script: draw its figure, run nothing')
    a = ap.parse_args()
    if a.redraw:
        df = pd.read_csv(a.redraw); print(draw(df, Path(a.redraw).with_suffix('.png')).round(2).to_string(index=False)); raise SystemExit
    from iadnb.synthloco import ensure_synthloco, CATEGORIES
    from iadnb.evaluate import machine_info
    root = Path(a.data_root) if a.data_root else ensure_synthloco()
    cats = a.categories.split(',') if a.categories else list(CATEGORIES)
    print(json.dumps(machine_info(a.device)))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for method in a.methods.split(','):
            for cat in cats:
                rows += one(method, cat, root, a.preset, a.device, [r for r in a.runtimes.split(',') if r], Path(d))
                print(pd.DataFrame(rows[-3:]).round(2).to_string(index=False), flush=True)
                pd.DataFrame(rows).to_csv(f'{a.out}.csv', index=False)      # kept as it grows: a long run interrupted loses nothing
    df = pd.DataFrame(rows)
    print(draw(df, Path(f'{a.out}.png')).round(2).to_string(index=False))
