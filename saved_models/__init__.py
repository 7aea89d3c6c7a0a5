"""Pretrained keras_ae models (package data); see README.md and keras_ae.zoo."""
