using static TorchSharp.torch;

namespace FineTuning.Amp;

/// <summary>
/// PyTorch's <c>torch.autocast</c>, for the ops our models use (TorchSharp has no autocast). Inside
/// <c>using (Autocast.Enable(ScalarType.BFloat16))</c> the matmul-heavy ops — <see cref="Linear"/>,
/// <see cref="Matmul"/> and scaled-dot-product attention — run in the reduced dtype; everything else keeps the dtype
/// type promotion gives it, so LayerNorm (whose input is the fp32 residual sum), softmax over masked scores and the
/// loss stay fp32, and the master weights are never converted. This is autocast's CPU policy ("lower precision" ops
/// vs the rest). Converting the whole model to bf16 instead loses AdamW's small updates and stops learning.
/// </summary>
/// <remarks>
/// The state is per thread, as PyTorch's is. Casts are differentiable, so gradients reach the fp32 weights in fp32.
/// The models consult <see cref="DType"/>; nothing else is patched.
/// </remarks>
public static class Autocast
{
    [ThreadStatic] static ScalarType? current;

    /// <summary>The reduced dtype of the innermost enabled region on this thread, or null outside any.</summary>
    public static ScalarType? DType => current;

    /// <summary>Whether the current thread is inside an enabled autocast region.</summary>
    public static bool IsEnabled => current is not null;

    /// <summary>
    /// Enters an autocast region (nestable; disposing restores the outer state). <paramref name="dtype"/> is
    /// BFloat16 or Float16; null disables autocast inside (PyTorch's <c>autocast(enabled=False)</c>).
    /// </summary>
    public static IDisposable Enable(ScalarType? dtype)
    {
        if (dtype is not (null or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"autocast supports BFloat16 and Float16, not {dtype}.", nameof(dtype));
        var outer = current;
        current = dtype;
        return new Region(outer);
    }

    /// <summary><c>F.linear</c>: in the autocast dtype inside a region (input, weight and bias cast), as is otherwise.</summary>
    /// <param name="input">(..., in)</param>
    /// <param name="weight">(out, in)</param>
    /// <param name="bias">(out) or null</param>
    /// <returns>(..., out), in the autocast dtype inside a region.</returns>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias)
    {
        if (current is not { } t) return nn.functional.linear(input, weight, bias);
        if (EmulatesGemm(t, input)) // bf16-rounded operands, an fp32 GEMM, the result rounded to bf16 (see EmulateBf16Gemm)
            return nn.functional.linear(Rounded(input, t), Rounded(weight, t), bias is null ? null : Rounded(bias, t)).to_type(t);
        return nn.functional.linear(Cast(input, t), Cast(weight, t), bias is null ? null : Cast(bias, t));
    }

    /// <summary><c>torch.matmul</c>: both operands cast to the autocast dtype inside a region.</summary>
    public static Tensor Matmul(Tensor a, Tensor b)
    {
        if (current is not { } t) return matmul(a, b);
        if (EmulatesGemm(t, a)) return matmul(Rounded(a, t), Rounded(b, t)).to_type(t);
        return matmul(Cast(a, t), Cast(b, t));
    }

    /// <summary>
    /// Whether bf16 linear layers and matmuls on the CPU run as an fp32 GEMM over bf16-rounded operands, with the
    /// result rounded to bf16 — oneDNN's own emulation of bf16 on CPUs without bf16 dot-product instructions
    /// (AVX-512 BF16, AMX), and what PyTorch 1.13 did there. libtorch 2.10 instead hands bf16 GEMMs on such CPUs to a
    /// reference kernel about 4x slower than its fp32 GEMM (bench/NOTES.md), so bf16 autocast would slow training down.
    /// The rounding points are the same as a native bf16 GEMM with fp32 accumulation; only the summation order differs.
    /// Default: on exactly when the CPU lacks those instructions (read from /proc/cpuinfo on Linux; off elsewhere).
    /// Ignored for fp16 and on GPUs.
    /// </summary>
    public static bool EmulateBf16Gemm { get; set; } = !CpuHasBf16DotProducts();

    static bool EmulatesGemm(ScalarType t, Tensor x) => t == ScalarType.BFloat16 && EmulateBf16Gemm && x.device_type == TorchSharp.DeviceType.CPU;

    /// <summary>x rounded to <paramref name="t"/>, held in fp32 (exact: every bf16 value is an fp32 value).</summary>
    static Tensor Rounded(Tensor x, ScalarType t) => !x.is_floating_point() ? x
        : (x.dtype == t ? x : x.to_type(t)).to_type(ScalarType.Float32);

    /// <summary>AVX-512 BF16 or AMX-BF16 in /proc/cpuinfo's flags (Linux); true elsewhere (no emulation).</summary>
    static bool CpuHasBf16DotProducts()
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo")) return true;
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            if (flags is null) return true;
            var set = flags[(flags.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return set.Contains("avx512_bf16") || set.Contains("amx_bf16");
        }
        catch (IOException) { return true; }
    }

    /// <summary>
    /// Casts floating tensors to the autocast dtype inside a region (what autocast does to every input of a
    /// lower-precision op: PyTorch's scaled_dot_product_attention takes query, key, value and a float mask of one dtype).
    /// Returns the tensor itself outside a region, or when it is not floating point.
    /// </summary>
    public static Tensor Cast(Tensor x) => current is { } t ? Cast(x, t) : x;

    /// <summary>
    /// Runs a tiny linear forward and backward in <paramref name="dtype"/> on <paramref name="device"/>, so that a
    /// libtorch build without those kernels fails here with a message naming the setting, not deep in a training step.
    /// </summary>
    /// <exception cref="NotSupportedException">The dtype's matmul or its gradient is not available on the device.</exception>
    public static void CheckSupported(ScalarType dtype, Device device, string setting)
    {
        try
        {
            using var scope = NewDisposeScope();
            var w = ones(2, 2, device: device, requires_grad: true);
            using (Enable(dtype)) Linear(ones(1, 2, device: device), w, null).sum().backward();
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            throw new NotSupportedException($"{setting} mixed precision is not available on {device.type}: libtorch has no {dtype} "
                + $"matmul or gradient there ({e.Message.Split('\n')[0]}). Use Bf16 on a CPU, Fp16 or Bf16 on a GPU, or neither.", e);
        }
    }

    static Tensor Cast(Tensor x, ScalarType t) => x.dtype == t || !x.is_floating_point() ? x : x.to_type(t);

    sealed class Region(ScalarType? outer) : IDisposable
    {
        bool disposed;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            current = outer;
        }
    }
}
