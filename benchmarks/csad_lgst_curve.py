"""CSAD's LGST learning curve: one CSAD fit (the `fast` preset with more LGST steps), its branches scored on the test
images every `--every` steps (LA / SA AUROC of the LGST branch, the patch-histogram branch and the fused score). Says
whether the structural AUROC is limited by the short CPU schedule (250 steps against the paper's 60 000). The
learning-rate drop stays at `lr_drop` of the whole run, so the intermediate points are of one long run, not of short
runs of that length.

    python benchmarks/csad_lgst_curve.py --category screw_bag --steps 1000 --every 250     # default SynthLOCO
    python benchmarks/csad_lgst_curve.py --data-root /tmp/sl_seed1 --category pushpins --out curve_seed1.csv

The test labels are read only to print the AUROCs; nothing is chosen from them here.
"""
import argparse, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from iadnb.core import build_method
from iadnb.data import load_category, AnomalyDataset, decode_uint8
from iadnb.evaluate import resolve_data_root
from iadnb.metrics import split_auroc

def curve(root, category, steps, every, preset='fast', seed=0):
    "Rows of (step, seconds, branch LA / SA) along one CSAD fit."
    data = load_category('synthloco', root, category)
    m = build_method('csad', preset=preset, device='cpu', seed=seed, steps=steps)
    train, val, test = (AnomalyDataset(s, m.transform) for s in (data.train, data.validation, data.test))
    types, labels = test.defect_types, test.labels
    val_imgs = decode_uint8(val.samples, m.hparams['image_size'], 'validation images')
    rows, t0 = [], time.perf_counter()

    def score(step, graph):
        if step % every and step != steps: return
        graph.eval(); m.fit_lgst_head(graph, val_imgs); m.graph, m.fitted = graph, True
        b = m.predict(test).extras['bank_scores']
        row = {'step': step, 'seconds': round(time.perf_counter() - t0)}
        for k in ('lgst', 'patchhist', 'csad'):
            for t, name in (('logical_anomalies', 'LA'), ('structural_anomalies', 'SA')):
                row[f'{k} {name}'] = round(100 * split_auroc(types, labels, b[k], t), 1)
        rows.append(row); print(row, flush=True)
        graph.student.train(); graph.autoencoder.train()

    m.fit(train, val, on_lgst_step=score)
    return pd.DataFrame(rows)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-root', default=None, help='SynthLOCO folder (default: the embedded one)')
    ap.add_argument('--category', default='screw_bag'); ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--every', type=int, default=250); ap.add_argument('--preset', default='fast')
    ap.add_argument('--out', default=None, help='CSV to write (default benchmarks/csad_lgst_curve_<category>.csv)')
    a = ap.parse_args(); torch.set_num_threads(2)
    df = curve(resolve_data_root('synthloco', a.data_root), a.category, a.steps, a.every, a.preset)
    print(df.to_string(index=False))
    df.to_csv(a.out or Path(__file__).parent / f'csad_lgst_curve_{a.category}.csv', index=False)
