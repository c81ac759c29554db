"iadnb's methods, one module each (patchcore, padim, spade, psad, ...), found by name: see `iadnb.core.method_class`."
# A package marker, written by hand (nbdev exports the modules beside it from nbs/1*_*.ipynb).
