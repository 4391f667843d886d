"""`relay demo`: a short story of Relay's roles on a dataset scikit-learn ships.

story.py runs the chapters in order; experiments.py is the data scientist's part (training and
tracking real models), governance.py the admin's, the stakeholder's and model governance's.
"""
