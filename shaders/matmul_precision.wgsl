// The arithmetic of the tiled matmul (matmul.wgsl): its workgroup tiles hold tile_vec4s, loaded through to_tile, and
// mac adds a product of a tile scalar and a tile vec4 to an f32 accumulator. The host prepends one section.
//   f32: everything in f32 (an fma per element).
//   f16: needs the shader-f16 feature (the host puts "enable f16;" first). Tiles hold f16, products are taken in f16
//        and summed in f32, so rounding error comes from the operands' and products' 11-bit mantissas, not from the
//        K-long sums. Operands past f16's largest finite value are clamped to it; a product past it overflows.
//! f32
alias tile_scalar = f32;
alias tile_vec4 = vec4f;
fn to_tile(x: f32) -> f32 { return x; }
fn mac(acc: vec4f, a: f32, b: vec4f) -> vec4f { return fma(vec4f(a), b, acc); }
//! f16
alias tile_scalar = f16;
alias tile_vec4 = vec4<f16>;
fn to_tile(x: f32) -> f16 { return f16(clamp(x, -65504.0, 65504.0)); }
fn mac(acc: vec4f, a: f16, b: vec4<f16>) -> vec4f { return acc + vec4f(a * b); }
