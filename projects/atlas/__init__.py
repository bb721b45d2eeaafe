"""The map (一张图, issue 28): Hebei's cities and counties from simplified official boundaries, drawn as SVG."""
