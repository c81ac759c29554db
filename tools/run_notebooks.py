"""Run chapter notebooks the way `nbdev_test` does (same skipped cells: `#| eval: false` and the flags of
settings.ini) and keep their outputs, so the committed notebooks show figures and tables before anyone
runs them. Usage: python tools/run_notebooks.py nbs/01_data.ipynb ...   (or `make outputs`)."""
import base64, io, json, os, sys, time
from pathlib import Path
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.process import NBProcessor
from nbdev.frontmatter import FrontmatterProc

def _skip(flags):
    def no_eval(cell):
        if cell.cell_type != 'code': return True
        d = getattr(cell, 'directives_', {}) or {}
        return d.get('eval:', [''])[0].lower() == 'false' or bool(flags & d.keys())
    return no_eval

MAX_WIDTH, JPEG_QUALITY = 1000, 85   # figures as they are committed: a reader sees them, the repository stays small

def _compact(out:dict)->dict:
    "A PNG figure output re-encoded as a JPEG at most MAX_WIDTH pixels wide (photos and maps shrink ten-fold)."
    data = out.get('data', {})
    if 'image/png' not in data: return out
    from PIL import Image
    im = Image.open(io.BytesIO(base64.b64decode(data['image/png']))).convert('RGB')
    if im.width > MAX_WIDTH: im = im.resize((MAX_WIDTH, round(im.height * MAX_WIDTH / im.width)), Image.LANCZOS)
    buf = io.BytesIO(); im.save(buf, 'JPEG', quality=JPEG_QUALITY, optimize=True)
    data = {k: v for k, v in data.items() if k != 'image/png'}
    data['image/jpeg'] = base64.b64encode(buf.getvalue()).decode()
    return {**out, 'data': data, 'metadata': {}}

def run(path:Path, flags:set)->float:
    "Execute one notebook in its folder and write its code cells' outputs back into it."
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    if str(getattr(nb, 'frontmatter_', {}).get('skip_exec', False)).lower() == 'true': return 0.
    t0 = time.time()
    shell = CaptureShell(path, mpl_format='png')      # not nbdev's 'retina': a quarter of the bytes in the committed notebooks
    with working_directory(path.parent): shell.run_all(nb, exc_stop=True, preproc=_skip(flags))
    outputs = {c.id: c.get('outputs', []) for c in nb.cells if c.cell_type == 'code'}
    raw = json.loads(path.read_text())
    for c in raw['cells']:
        if c['cell_type'] == 'code':
            c['outputs'] = [_compact(dict(o)) for o in outputs.get(c['id'], [])]
            for o in c['outputs']:
                if 'execution_count' in o: o['execution_count'] = None
            c['execution_count'] = None
    path.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + '\n')
    return time.time() - t0

if __name__ == '__main__':
    flags = set(get_config().get('tst_flags', '').split())
    for p in sys.argv[1:]:
        print(f'{p}: {run(Path(p), flags):.0f} s', flush=True)
