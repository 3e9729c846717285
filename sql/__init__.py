"""The SQL files, by layer (warehouse/, lake/, spark/): data of the patchtrail package, read with importlib.resources."""
