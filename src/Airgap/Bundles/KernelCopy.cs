using System.Runtime.InteropServices;

namespace Airgap.Bundles;

/// <summary>
/// Copies a byte range between files inside the kernel (copy_file_range), so bundle writing does not
/// drag every layer through user space a second time. Returns false where the kernel or filesystem
/// cannot (old kernels, cross-device on some versions); the caller then copies the ordinary way.
/// </summary>
internal static partial class KernelCopy
{
    [DllImport("libc", SetLastError = true, EntryPoint = "copy_file_range")]
    private static extern nint CopyFileRange(int fdIn, ref long offIn, int fdOut, ref long offOut, nuint length, uint flags);

    private static bool _unavailable;

    public static bool TryCopy(FileStream source, FileStream destination, long length)
    {
        if (_unavailable) return false;
        try
        {
            return Copy(source, destination, length);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // glibc before 2.27 has no copy_file_range wrapper: copy the ordinary way from now on.
            _unavailable = true;
            return false;
        }
    }

    private static bool Copy(FileStream source, FileStream destination, long length)
    {
        var fdIn = (int)source.SafeFileHandle.DangerousGetHandle();
        var fdOut = (int)destination.SafeFileHandle.DangerousGetHandle();
        long inOffset = source.Position, outOffset = destination.Position, copied = 0;
        while (copied < length)
        {
            var n = CopyFileRange(fdIn, ref inOffset, fdOut, ref outOffset, (nuint)Math.Min(length - copied, 1L << 30), 0);
            if (n < 0)
            {
                if (copied == 0) return false;
                throw new IOException($"copy_file_range failed after {copied} of {length} bytes (errno {Marshal.GetLastPInvokeError()})");
            }
            if (n == 0) throw new IOException($"source ended after {copied} of {length} bytes");
            copied += n;
        }
        source.Position = inOffset;
        destination.Position = outOffset;
        return true;
    }
}
