"""The application wing: the ``keras-ae`` command and what only it uses.

| module | job |
|---|---|
| `cli` | argument parsing, one function per subcommand, one-line errors |
| `run` | one training run: fit, save, export, evaluate, figures, card |
| `recipes` | the model table (classes, papers, demo settings), build and train |
| `figures` | the pictures of one run (`keras_ae.plotting`) |
| `tensorboard` | a TensorBoard callback that works on every backend |
| `startup` | the process set-up before Keras loads (backend, quiet TensorFlow) |
| ``scripts/keras-ae`` | the installed launcher |

The library (everything outside this folder) never imports from here; this
wing uses the library's public API.
"""
