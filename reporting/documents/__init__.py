"""PDF documents rendered by report jobs: what each is about, who may have it, and
its HTML (``reporting.pdf`` turns it into a PDF). The registry is ``registry``."""
