#include <cstdio>
extern __shared__ char dyn[];
__device__ unsigned smemAddr(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
__global__ void __cluster_dims__(2,1,1) withCluster() {
  unsigned r; asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
  if (threadIdx.x == 0) printf("cluster: block %d rank %u dyn smem addr 0x%x\n", blockIdx.x, r, smemAddr(dyn));
}
__global__ void noCluster() {
  if (threadIdx.x == 0) printf("plain:   block %d dyn smem addr 0x%x\n", blockIdx.x, smemAddr(dyn));
}
int main() {
  cudaFuncSetAttribute(withCluster, cudaFuncAttributeMaxDynamicSharedMemorySize, 200000);
  cudaFuncSetAttribute(noCluster, cudaFuncAttributeMaxDynamicSharedMemorySize, 200000);
  withCluster<<<4, 128, 200000>>>();
  noCluster<<<2, 128, 200000>>>();
  printf("%s\n", cudaGetErrorString(cudaDeviceSynchronize()));
}
