// mandelbrot: written in its own change.
