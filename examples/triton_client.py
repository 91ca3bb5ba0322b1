"""Serve a trtnet engine with Triton Inference Server and query it over HTTP.

1. Export the model repository (on any machine; build for the server's GPU and TensorRT version)::

       python benchmarks/make_resnet50_weights.py resnet50.safetensors
       trtnet export-triton models/resnet.py:resnet50 --weights resnet50.safetensors -o model_repository \\
           --input input:fp32:-1x3x224x224 --min 1x3x224x224 --opt 8x3x224x224 --max 32x3x224x224 \\
           --dynamic-batching --instances 2

   This writes ``model_repository/resnet50/config.pbtxt`` (platform ``tensorrt_plan``, max_batch_size 32,
   input ``input`` TYPE_FP32 dims [3, 224, 224], output ``output`` dims [1000]) and
   ``model_repository/resnet50/1/model.plan``.

2. Serve it on a GPU machine with Triton's container (its TensorRT must match the engine's)::

       docker run --gpus all --rm -p 8000:8000 -v $PWD/model_repository:/models \\
           nvcr.io/nvidia/tritonserver:<release>-py3 tritonserver --model-repository=/models

3. Query it (``pip install "tritonclient[http]"``)::

       python examples/triton_client.py --url localhost:8000 --model resnet50 --batch 4

The input and output names, data type and shape are read from the server's model metadata, so the same
client works for any model exported by ``trtnet export-triton``.
"""

from __future__ import annotations

import argparse

import numpy as np

NUMPY_TYPES = {"FP32": np.float32, "FP16": np.float16, "INT32": np.int32, "INT64": np.int64, "INT8": np.int8,
               "UINT8": np.uint8, "BOOL": np.bool_}


def main() -> None:
    import tritonclient.http as httpclient

    parser = argparse.ArgumentParser(description="Send one random batch to a Triton model exported by trtnet.")
    parser.add_argument("--url", default="localhost:8000", help="Triton's HTTP endpoint (default localhost:8000)")
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch", type=int, default=1, help="batch size (models exported with batching)")
    args = parser.parse_args()

    client = httpclient.InferenceServerClient(url=args.url)
    metadata = client.get_model_metadata(args.model)
    batching = client.get_model_config(args.model).get("max_batch_size", 0) > 0
    requests = []
    for spec in metadata["inputs"]:
        shape = [args.batch] + [int(d) for d in spec["shape"][1:]] if batching else [int(d) for d in spec["shape"]]
        data = np.random.default_rng(0).standard_normal(shape).astype(NUMPY_TYPES[spec["datatype"]])
        request = httpclient.InferInput(spec["name"], shape, spec["datatype"])
        request.set_data_from_numpy(data)
        requests.append(request)
    outputs = [httpclient.InferRequestedOutput(spec["name"]) for spec in metadata["outputs"]]
    result = client.infer(args.model, requests, outputs=outputs)
    for spec in metadata["outputs"]:
        values = result.as_numpy(spec["name"])
        print(f"{spec['name']}: shape {values.shape}, first row argmax {int(values.reshape(values.shape[0], -1)[0].argmax())}")


if __name__ == "__main__":
    main()
