"""Every scenario; importing this registers them, their code paths and the named kernels."""

import mmfuzz.kernel.releases  # noqa: F401
from mmfuzz.scenarios import pagewalk  # noqa: F401
from mmfuzz.scenarios import punch_hole  # noqa: F401
from mmfuzz.scenarios import fault_invalidate  # noqa: F401
from mmfuzz.scenarios import vfio_dma_map  # noqa: F401
from mmfuzz.scenarios import walk_once  # noqa: F401
from mmfuzz.scenarios import pagewalk_dax  # noqa: F401
