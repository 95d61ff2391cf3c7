"""cs231n_lib: the helper library of the convnet-course notebooks.

Modules (guess the file from the concept):

    layers          NumPy layers, forward and backward, naive and fast
    gradient_check  numerical gradients, relative error, asserting checks
    classifiers     ThreeLayerConvNet and the Solver that trains it
    optim           update rules: SGD, SGD with momentum, Adam
    arithmetic      shapes, parameters, memory, FLOPs, receptive fields
    data            bundled data sets and real-format loaders (CIFAR-10)
    augment         image transforms and test-time augmentation
    models          case-study networks in PyTorch
    train           fit / evaluate / predict with progress bars
    vis             figures: filters, activations, patches, conv arithmetic
    runtime         fast mode, seeding, device choice, environment check
    course          the notebook pipeline: execute solutions, release notebooks
    grading         validate and autograde with nbgrader
"""

__version__ = "0.1.0"
