"""Read product facts out of HTML: JSON-LD, microdata, OpenGraph, image variants, and the merge of all of them."""
