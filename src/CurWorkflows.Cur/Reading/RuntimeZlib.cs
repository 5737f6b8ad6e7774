namespace CurWorkflows.Cur.Reading;

/// <summary>
/// The runtime's own compression library, whose zlib-ng <see cref="Crc32"/> and <see cref="RawInflateStream"/> call.
/// Its exports are not a public API; both fall back to managed code where they cannot be found.
/// </summary>
internal static class RuntimeZlib
{
    public const string Library = "libSystem.IO.Compression.Native";
}
