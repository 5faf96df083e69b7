// Accumulates the nodes and initializers of one ONNX graph under unique value names and assembles the GraphProto.
import { onnx, type AttributeProto, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx-proto.ts';

/** Integer attributes only: every operator the exporter emits is configured by ints and int lists. */
export type IntAttributes = Record<string, number | readonly number[]>;

/** One dimension of a graph input or output: a fixed size, or a symbolic name for a dynamic one. */
export type Dim = number | string;

const ElemType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of `data` in little-endian order, as TensorProto.raw_data requires (a view, on little-endian hosts). */
function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v: number | bigint, i: number) => {
    if (typeof v === 'bigint') view.setBigInt64(i * 8, v, true);
    else view.setFloat32(i * 4, v, true);
  });
  return out;
}

function attribute(name: string, value: number | readonly number[]): AttributeProto {
  const values = typeof value === 'number' ? [value] : value;
  for (const v of values) {
    if (!Number.isSafeInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer`);
  }
  return typeof value === 'number'
    ? { name, type: AttrType.INT, i: value }
    : { name, type: AttrType.INTS, ints: [...value] };
}

function tensorValueInfo(name: string, elemType: number, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** A graph input or output. */
export interface GraphValue {
  name: string;
  elemType: 'int64' | 'float32';
  dims: readonly Dim[];
}

export class GraphBuilder {
  private readonly inputs: GraphValue[] = [];
  private readonly outputs: GraphValue[] = [];
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly taken = new Set<string>();
  private readonly constants = new Map<string, string>();
  private weightBytes = 0;

  /** `name` itself when unused, otherwise `name_2`, `name_3`, ...; the result is reserved. */
  uniqueName(name: string): string {
    let candidate = name;
    for (let n = 2; this.taken.has(candidate); n++) candidate = `${name}_${n}`;
    this.taken.add(candidate);
    return candidate;
  }

  /** Adds a node with one output named after `outputName` and returns that output's name. */
  op(opType: string, inputs: readonly string[], outputName: string, attributes: IntAttributes = {}): string {
    const output = this.uniqueName(outputName);
    this.nodes.push({
      opType,
      name: `${opType}:${output}`,
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  /** A float32 weight; the data is referenced, not copied. */
  floatInitializer(name: string, dims: readonly number[], data: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`initializer ${name}: ${data.length} values for shape [${dims.join(',')}]`);
    const unique = this.uniqueName(name);
    this.initializers.push({ name: unique, dims: [...dims], dataType: ElemType.FLOAT, rawData: littleEndianBytes(data) });
    this.weightBytes += data.byteLength;
    return unique;
  }

  /** A shared int64 constant (a scalar when `dims` is []); equal constants are stored once. */
  int64Constant(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64[${dims.join(',')}]:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.uniqueName(dims.length === 0 ? `const_i64_${values[0]}` : `const_i64_${values.join('_')}`.replace(/-/g, 'm'));
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [...dims], dataType: ElemType.INT64, rawData: littleEndianBytes(data) });
    this.constants.set(key, name);
    return name;
  }

  /** A shared float32 scalar constant. */
  floatScalar(value: number, label: string): string {
    const key = `f32:${Object.is(value, -0) ? '-0' : String(value)}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.uniqueName(label);
    this.initializers.push({ name, dims: [], dataType: ElemType.FLOAT, rawData: littleEndianBytes(Float32Array.of(value)) });
    this.constants.set(key, name);
    return name;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  get initializerCount(): number {
    return this.initializers.length;
  }

  /** Bytes of float32 weight data added through floatInitializer. */
  get initializerBytes(): number {
    return this.weightBytes;
  }

  /** Declares a graph input under exactly `spec.name` and returns that name. */
  input(spec: GraphValue): string {
    if (this.taken.has(spec.name)) throw new Error(`graph input ${spec.name}: the name is already used`);
    this.taken.add(spec.name);
    this.inputs.push(spec);
    return spec.name;
  }

  /** Declares that the value `spec.name`, which a node must produce, is a graph output. */
  output(spec: GraphValue): void {
    this.outputs.push(spec);
  }

  build(name: string): GraphProto {
    const produced = new Set(this.nodes.flatMap((n) => n.output ?? []));
    for (const o of this.outputs) {
      if (!produced.has(o.name)) throw new Error(`graph output ${o.name} is not produced by any node`);
    }
    const info = (v: GraphValue) => tensorValueInfo(v.name, v.elemType === 'int64' ? ElemType.INT64 : ElemType.FLOAT, v.dims);
    return {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs.map(info),
      output: this.outputs.map(info),
    };
  }
}
