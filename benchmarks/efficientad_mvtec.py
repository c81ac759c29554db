"""EfficientAD / PUAD on the shared MVTec AD subset: one PUAD fit per category (both scores), image / pixel AUROC,
fit and predict time; the fitted model saved, exported to ONNX and compared with PyTorch on every test image.

    python benchmarks/efficientad_mvtec.py                          # fast preset, grid and transistor, PDN-S
    python benchmarks/efficientad_mvtec.py --preset paper --device cuda --sizes s,m
"""
import argparse, json, time
from pathlib import Path
import pandas as pd
from iadnb.core import build_method, project_path
from iadnb.data import find_data, load_category
from iadnb.evaluate import evaluate_category, machine_info
from iadnb.export import export_onnx, OnnxModel, compare_export
from iadnb.metrics import auroc

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--categories', default='grid,transistor'); ap.add_argument('--sizes', default='s')
    ap.add_argument('--preset', default='fast'); ap.add_argument('--device', default='cpu')
    ap.add_argument('--hparams', default='{}', help='JSON of extra hyper-parameters')
    ap.add_argument('--data-root', default=None); ap.add_argument('--models', default='runs/efficientad_mvtec')
    ap.add_argument('--out', default='benchmarks/efficientad_mvtec_cpu2.csv')
    a = ap.parse_args()
    root = Path(a.data_root) if a.data_root else find_data('mvtec_ad_256')
    models = project_path(a.models); models.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in a.sizes.split(','):
        for cat in a.categories.split(','):
            data = load_category('mvtec_ad', root, cat)
            m = build_method('puad', preset=a.preset, model_size=size, device=a.device, **json.loads(a.hparams))
            r = evaluate_category(m, data)
            b = r.extras['bank_scores']
            f = m.save(models / f'puad_{size}_{cat}.pt')
            t = time.perf_counter(); onnx = export_onnx(m, f.with_suffix('.onnx')); t_export = time.perf_counter() - t
            cmp = compare_export(m, OnnxModel(onnx), data.test)
            rows.append(dict(category=cat, size=size.upper(), preset=a.preset, steps=m.hparams['steps'],
                             teacher_steps=m.hparams['teacher_steps'], n_train=m.n_train, n_val=m.n_val,
                             efficientad_image_auroc=100 * auroc(r.labels, b['efficientad']), puad_image_auroc=100 * auroc(r.labels, b['puad']),
                             pixel_auroc=100 * r.metrics['pixel_auroc'], pixel_aupro=100 * r.metrics.get('pixel_aupro', float('nan')),
                             teacher_s=m.timings['teacher_s'], train_s=m.timings['train_s'], fit_s=r.timings['fit_s'],
                             predict_img_s=r.timings['predict_img_s'], export_s=t_export,
                             onnx_max_abs_score_diff=cmp['max_abs_score_diff'], onnx_max_abs_map_diff=cmp['max_abs_map_diff'],
                             onnx_auroc_torch=100 * cmp['auroc_torch'], onnx_auroc_export=100 * cmp['auroc_export'],
                             machine=f"{machine_info(a.device)['cpu_threads']} CPU threads, {a.device}"))
            print(pd.DataFrame(rows[-1:]).round(4).T.to_string(), flush=True)
            pd.DataFrame(rows).to_csv(a.out, index=False)
    print(pd.DataFrame(rows).round(2).to_string(index=False))
