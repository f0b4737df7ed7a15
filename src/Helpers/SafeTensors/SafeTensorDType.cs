using TorchSharp;

namespace FineTuning.SafeTensors;

/// <summary>
/// The element types this library reads and writes, named exactly as the safetensors header spells them
/// (<c>"F32"</c>, <c>"BF16"</c>, ...). Types TorchSharp cannot hold (F8 variants, U16/U32/U64) are left out on
/// purpose, so a file using them fails at <see cref="SafeTensorsFile.Open"/> instead of loading wrong values.
/// </summary>
public enum SafeTensorDType
{
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    BOOL,
}

/// <summary>Conversions between <see cref="SafeTensorDType"/>, header strings and TorchSharp scalar types.</summary>
public static class SafeTensorDTypes
{
    /// <summary>The header spellings of every supported dtype, for error messages.</summary>
    public static string SupportedNames { get; } = string.Join(", ", Enum.GetNames<SafeTensorDType>());

    /// <summary>Parses a header dtype string; exact, case-sensitive match as in the format spec.</summary>
    public static bool TryParse(string text, out SafeTensorDType dtype)
    {
        // Enum.TryParse would also accept "f32" or "1"; the spec's names are case-sensitive strings.
        foreach (var value in Enum.GetValues<SafeTensorDType>())
        {
            if (string.Equals(value.ToString(), text, StringComparison.Ordinal))
            {
                dtype = value;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F64 or SafeTensorDType.I64 => 8,
        SafeTensorDType.F32 or SafeTensorDType.I32 => 4,
        SafeTensorDType.F16 or SafeTensorDType.BF16 or SafeTensorDType.I16 => 2,
        SafeTensorDType.I8 or SafeTensorDType.U8 or SafeTensorDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The TorchSharp scalar type with the same bit layout.</summary>
    public static torch.ScalarType ToScalarType(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F64 => torch.ScalarType.Float64,
        SafeTensorDType.F32 => torch.ScalarType.Float32,
        SafeTensorDType.F16 => torch.ScalarType.Float16,
        SafeTensorDType.BF16 => torch.ScalarType.BFloat16,
        SafeTensorDType.I64 => torch.ScalarType.Int64,
        SafeTensorDType.I32 => torch.ScalarType.Int32,
        SafeTensorDType.I16 => torch.ScalarType.Int16,
        SafeTensorDType.I8 => torch.ScalarType.Int8,
        SafeTensorDType.U8 => torch.ScalarType.Byte,
        SafeTensorDType.BOOL => torch.ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The safetensors dtype for a TorchSharp scalar type, or false for types the format cannot store here.</summary>
    public static bool TryFromScalarType(torch.ScalarType type, out SafeTensorDType dtype)
    {
        foreach (var value in Enum.GetValues<SafeTensorDType>())
        {
            if (value.ToScalarType() == type)
            {
                dtype = value;
                return true;
            }
        }
        dtype = default;
        return false;
    }
}
