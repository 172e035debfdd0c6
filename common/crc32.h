/* CRC-32 as in zlib (reflected 0xedb88320, init and final xor 0xffffffff). Guest and host. */
#ifndef KVMIO_COMMON_CRC32_H
#define KVMIO_COMMON_CRC32_H
#include <stddef.h>
#include <stdint.h>

uint32_t crc32_update(uint32_t crc, const void *data, size_t len); /* start with crc = 0 */

#endif
