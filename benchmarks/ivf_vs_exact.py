"""PatchCore (paper preset, 10 % coreset) with the exact and the approximate ('ivf') memory search, on the MVTec AD
subset: AUROC, AUPRO, fit s, predict img/s, and the nprobe / recall the 'ivf' search calibrated at fit.

    python benchmarks/ivf_vs_exact.py [grid,transistor]
"""
import sys, torch
from iadnb.data import load_category, find_data
from iadnb.core import build_method
from iadnb.evaluate import evaluate_category

if __name__ == '__main__':
    root = find_data('mvtec_ad_256')
    if root is None: raise SystemExit("the MVTec AD subset (mvtec_ad_256) is not on this machine: set IADNB_DATA")
    for cat in (sys.argv[1] if len(sys.argv) > 1 else 'grid,transistor').split(','):
        d = load_category('mvtec_ad', root, cat)
        for be in ('auto', 'ivf'):
            torch.manual_seed(0)
            m = build_method('patchcore', preset='paper', device='cpu', knn_backend=be)
            r = evaluate_category(m, d)
            print(f"{cat} {'exact' if be == 'auto' else be}: image {100 * r.metrics['image_auroc']:.2f} pixel {100 * r.metrics['pixel_auroc']:.2f} "
                  f"aupro {100 * r.metrics['pixel_aupro']:.2f} fit {r.timings['fit_s']:.1f} s predict {r.timings['predict_img_s']:.1f} img/s "
                  f"nprobe {m.knn_nprobe} recall {getattr(m, 'knn_recall_measured', None)}", flush=True)
