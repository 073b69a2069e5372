/* The OpenAPI document, embedded in the binary so the server needs no
 * file beside it to describe itself. */
	.section .rodata
	.global pv_openapi_start
	.global pv_openapi_end
pv_openapi_start:
	.incbin "docs/openapi.json"
pv_openapi_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
