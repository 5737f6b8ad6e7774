using System.IO.Compression;
using System.Runtime.InteropServices;

namespace CurWorkflows.Cur.Reading;

/// <summary>
/// Inflates raw deflate data (a zip entry) with the zlib-ng inflater that .NET ships in its compression native
/// library, handing it 128 KiB of compressed input per call. <see cref="DeflateStream"/> hands it 8 KiB per call and
/// returns after each, so a megabyte of output takes about a dozen calls, each with its fixed costs (the copy of the
/// 32 KiB window among them). On the inflating thread, which sets the pace of a zipped report's aggregation, a
/// 1.2 GB entry took 0.61 s this way against 0.70 s through <see cref="DeflateStream"/> (docs/core.md). The library's
/// entry points are the runtime's own and not a public API: where they cannot be found, <see cref="Open"/> returns a
/// <see cref="DeflateStream"/>, as for <see cref="Crc32"/>.
/// </summary>
internal sealed unsafe partial class RawInflateStream : ForwardReadStream
{
    private const int InputBytes = 128 << 10;
    private const int RawDeflateWindowBits = -15;
    private const int NoFlush = 0;
    private const int Ok = 0;
    private const int StreamEnd = 1;
    private const int DataError = -3;
    private const int MemoryError = -4;
    private const int BufferError = -5;

    private static bool s_nativeFailed;

    private readonly Stream _compressed;
    private readonly bool _leaveOpen;

    // Pinned for the stream's life: between calls the inflater's state points into it.
    private readonly byte[] _input = GC.AllocateUninitializedArray<byte>(InputBytes, pinned: true);
    private ZStream _stream;
    private bool _initialized;
    private bool _inputEnded;
    private bool _finished;
    private long _position;

    private RawInflateStream(Stream compressed, bool leaveOpen)
    {
        _compressed = compressed;
        _leaveOpen = leaveOpen;
        int code;
        fixed (ZStream* stream = &_stream)
        {
            code = InflateInit(stream, RawDeflateWindowBits);
        }

        if (code != Ok)
        {
            throw code == MemoryError ? new InsufficientMemoryException("zlib could not allocate its inflate state") : new InvalidOperationException($"zlib inflateInit2 failed with code {code}");
        }

        _initialized = true;
    }

    ~RawInflateStream() => Dispose(false);

    /// <summary>A stream of the data that <paramref name="compressed"/>'s raw deflate bytes inflate to, from its position.</summary>
    public static Stream Open(Stream compressed, bool leaveOpen)
    {
        if (!Volatile.Read(ref s_nativeFailed))
        {
            try
            {
                return new RawInflateStream(compressed, leaveOpen);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                Volatile.Write(ref s_nativeFailed, true);
            }
        }

        return new DeflateStream(compressed, CompressionMode.Decompress, leaveOpen);
    }

    protected override long BytesHandedOut => _position;

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(!_initialized, this);
        if (buffer.IsEmpty || _finished)
        {
            return 0;
        }

        while (true)
        {
            if (_stream.AvailIn == 0 && !_inputEnded)
            {
                var read = _compressed.Read(_input);
                if (read == 0)
                {
                    _inputEnded = true;
                }
                else
                {
                    _stream.NextIn = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_input, 0);
                    _stream.AvailIn = (uint)read;
                }
            }

            int code;
            int produced;
            fixed (byte* output = buffer)
            fixed (ZStream* stream = &_stream)
            {
                stream->NextOut = output;
                stream->AvailOut = (uint)buffer.Length;
                code = Inflate(stream, NoFlush);
                produced = buffer.Length - (int)stream->AvailOut;
                stream->NextOut = null;
            }

            _position += produced;
            switch (code)
            {
                case StreamEnd:
                    // What follows the deflate data (the rest of the zip) is not ours to read.
                    _finished = true;
                    return produced;
                case Ok or BufferError when produced > 0:
                    return produced;
                case Ok or BufferError when _stream.AvailIn == 0:
                    if (_inputEnded)
                    {
                        throw new InvalidDataException($"the deflate data ends after {_position} inflated bytes, before its last block: the file is truncated");
                    }

                    continue;
                case Ok:
                    continue;
                case MemoryError:
                    throw new InsufficientMemoryException("zlib could not allocate memory while inflating");
                case DataError:
                    throw new InvalidDataException($"the deflate data is corrupt after {_position} inflated bytes ({Message()})");
                default:
                    throw new InvalidDataException($"zlib inflate failed with code {code} after {_position} inflated bytes ({Message()})");
            }
        }
    }

    private string Message() => Marshal.PtrToStringUTF8(_stream.Message) ?? "no message";

    protected override void Dispose(bool disposing)
    {
        if (_initialized)
        {
            _initialized = false;
            fixed (ZStream* stream = &_stream)
            {
                _ = InflateEnd(stream);
            }
        }

        if (disposing && !_leaveOpen)
        {
            _compressed.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>The library's PAL_ZStream: it copies these fields to and from its own z_stream on every call.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public IntPtr Message;
        public IntPtr InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    [LibraryImport(RuntimeZlib.Library, EntryPoint = "CompressionNative_InflateInit2_")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int InflateInit(ZStream* stream, int windowBits);

    [LibraryImport(RuntimeZlib.Library, EntryPoint = "CompressionNative_Inflate")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Inflate(ZStream* stream, int flush);

    [LibraryImport(RuntimeZlib.Library, EntryPoint = "CompressionNative_InflateEnd")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int InflateEnd(ZStream* stream);
}
