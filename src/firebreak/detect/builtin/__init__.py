"""Built-in detectors, registered under the `firebreak.detectors` entry-point group."""
