"""The model zoo as layer graphs (``prunesim.models``).

It will hold BERT, GPT-2, LLaVA variants, ResNets, OFA MobileNetV3, the SD UNet ... as per-layer
descriptions for the analytic simulator, plus loaders for real weights where a package ships them.
It arrives with a later issue; nothing is implemented here yet.
"""
