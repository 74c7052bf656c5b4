"""Training on a cluster: pure round functions (:mod:`.rounds`) and their Dask
driver (:mod:`.driver`).  ``import wordvec`` never imports this package, and
this package imports Dask only in the driver."""
